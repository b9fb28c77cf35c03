import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactRecord } from '../../backup-set/manifest';

/**
 * The one place a files set's artifacts are read from for a restore or a verification: the
 * artifact's bytes as the manifest describes them. Sealed (encrypted) artifacts will be opened
 * here too, so every reader of a files set gets plain archive bytes from this function.
 */
export function openArtifactStream(setFolder: string, artifact: ArtifactRecord): Readable {
	return createReadStream(artifactPath(setFolder, artifact), { highWaterMark: 1 << 20 });
}

/** Where an artifact lies on disk (for messages; read it with openArtifactStream). */
export const artifactPath = (setFolder: string, artifact: ArtifactRecord) =>
	join(setFolder, ...artifact.path.split('/'));
