/**
 * The backup file SQL Server reads for one set of a chain. A set in the clear is read where it
 * lies. A sealed set's .bak.age cannot be read by SQL Server: it is decrypted (and its plaintext
 * checked against the hash the sealed manifest records) into a file of the shared folder only
 * while SQL Server reads it: created with an exclusive create and mode 0600 in a fresh private
 * folder, and removed when `use` ends, whether it succeeded, failed or was cancelled.
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isSealed, unsealedPath, type ArtifactRecord, type Manifest } from '../../../backup-set/manifest';
import { openArtifact } from '../../../backup-set/sealed-read';
import { createSecretFolder, sweepStaleSecretFolders } from '../../../secret-folders';
import type { SharedFolder } from '../shared-folder';

const plainName = (artifact: ArtifactRecord) =>
	unsealedPath(artifact.path.split('/').pop() ?? 'backup.bak').replace(/[^A-Za-z0-9_.-]/g, '_');

/**
 * Runs `use` with the path (as n8n sees it, inside `shared`) of the plaintext backup file of
 * `artifact`. For a sealed set the file exists only during `use`: in a folder of its own
 * (`.totvs-decrypted-XXXXXX`, 0700, with its owner's record first, as core/secret-folders.ts makes
 * them), so what a killed n8n left behind is swept by the next sealed restore in that folder.
 */
export async function withReadableBackup<T>(
	set: { folder: string; manifest: Manifest },
	artifact: ArtifactRecord,
	shared: SharedFolder,
	signal: AbortSignal | undefined,
	use: (localPath: string) => Promise<T>,
): Promise<T> {
	if (!isSealed(set.manifest)) return use(join(set.folder, ...artifact.path.split('/')));
	signal?.throwIfAborted();
	await sweepStaleSecretFolders(shared.localFolder).catch(() => undefined);
	const folder = await createSecretFolder('.totvs-decrypted-', shared.localFolder);
	try {
		const path = join(folder, plainName(artifact));
		// 'wx': never follows or reuses a file someone put there; 0600: private to n8n's user.
		const handle = await open(path, 'wx', 0o600);
		try {
			await pipeline(openArtifact(set.folder, set.manifest, artifact), handle.createWriteStream(), { signal });
		} finally {
			await handle.close().catch(() => undefined);
		}
		return await use(path);
	} finally {
		await rm(folder, { recursive: true, force: true });
	}
}
