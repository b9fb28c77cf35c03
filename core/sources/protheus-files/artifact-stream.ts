import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactRecord, Manifest } from '../../backup-set/manifest';
import { openArtifact } from '../../backup-set/sealed-read';

/**
 * The one place a files set's artifacts are read from for a restore or a verification: the
 * artifact's plain bytes. A sealed set's archive is decrypted on the fly (age, each chunk
 * authenticated before it is handed on, the whole checked against the sealed plaintext hash at
 * its end) with the execution's identities; nothing decrypted is written anywhere, so no plaintext
 * copy can be left behind. A sealed set without an identity is an error naming the fingerprints
 * it was sealed for.
 */
export function openArtifactStream(setFolder: string, manifest: Manifest, artifact: ArtifactRecord): Readable {
	return openArtifact(setFolder, manifest, artifact);
}

/** Where an artifact lies on disk (for messages; read it with openArtifactStream). */
export const artifactPath = (setFolder: string, artifact: ArtifactRecord) =>
	join(setFolder, ...artifact.path.split('/'));
