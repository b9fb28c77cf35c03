import { mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { systemErrorCode } from '../errors';
import { stagingError } from '../location/staging-folder';
import { hashFile, writeHashed, type ProgressListener } from '../pipeline/hashing';
import { makeBackupId } from './ids';
import {
	IN_PROGRESS_MARKER,
	MANIFEST_FILE,
	serializeManifest,
	type ArtifactRecord,
	type BackupType,
	type Component,
	type Manifest,
} from './manifest';

/**
 * Writes one backup set: `<root>/<environment>/<backupId>/`. The in-progress marker first (so a
 * dump killed before abort() leaves a folder Prune can prove is ours), then artifacts, each
 * hashed as it is written; the manifest last, atomically (temporary name, fsync, rename), then
 * the marker goes. A folder without manifest.json is always an unfinished set. `abort()` removes
 * only the folder this writer created.
 */
export class BackupSetWriter {
	readonly artifacts: ArtifactRecord[] = [];
	private finished = false;

	private constructor(
		readonly root: string,
		readonly environment: string,
		readonly backupId: string,
		readonly folder: string,
	) {}

	static async create(
		root: string,
		environment: string,
		type: BackupType,
		component: Component,
		startedAt: Date,
	): Promise<BackupSetWriter> {
		const environmentFolder = join(root, environment);
		try {
			await mkdir(environmentFolder, { recursive: true, mode: 0o750 });
		} catch (error) {
			throw stagingError(error, root, 'creating a folder in');
		}
		for (let attempt = 1; ; attempt++) {
			const backupId = makeBackupId(environment, type, component, startedAt, attempt);
			const folder = join(environmentFolder, backupId);
			try {
				// Not recursive: failing on an existing folder guarantees we never write into, or
				// later remove, something that was already there.
				await mkdir(folder, { mode: 0o750 });
				await writeFile(
					join(folder, IN_PROGRESS_MARKER),
					JSON.stringify({ backupId, hostname: hostname(), pid: process.pid, startedAt: new Date().toISOString() }),
					{ flag: 'wx', mode: 0o640 },
				);
				return new BackupSetWriter(root, environment, backupId, folder);
			} catch (error) {
				if (systemErrorCode(error) === 'EEXIST' && attempt < 100) continue;
				throw stagingError(error, root, 'creating a backup set in');
			}
		}
	}

	private pathOf(relativePath: string): string {
		return join(this.folder, ...relativePath.split('/'));
	}

	/** Streams `source` into the set as `relativePath`, hashing as it writes. */
	async writeArtifact(
		relativePath: string,
		kind: string,
		source: Readable,
		onProgress?: ProgressListener,
	): Promise<ArtifactRecord> {
		const target = this.pathOf(relativePath);
		// Start consuming now, before any await: Node discards a child's unread stdout when the
		// child exits, so a small pg_dump finishing during mkdir would otherwise become an empty
		// "valid" artifact. pipeline() forwards the source's errors to `consumed`.
		const consumed = new PassThrough({ highWaterMark: 1 << 20 });
		pipeline(source, consumed, () => undefined);
		try {
			await mkdir(dirname(target), { recursive: true });
			const { bytes, sha256 } = await writeHashed(consumed, target, { onProgress });
			return this.record({ path: relativePath, kind, bytes, sha256 });
		} catch (error) {
			throw this.translate(error);
		}
	}

	/** Hashes a file that a tool (pg_dump -Fd) wrote into the set folder itself. */
	async addWrittenFile(relativePath: string, kind: string): Promise<ArtifactRecord> {
		const { bytes, sha256 } = await hashFile(this.pathOf(relativePath));
		return this.record({ path: relativePath, kind, bytes, sha256 });
	}

	/** Absolute path for a tool that writes into the set itself. */
	absolutePath(relativePath: string): string {
		return this.pathOf(relativePath);
	}

	private record(artifact: ArtifactRecord): ArtifactRecord {
		this.artifacts.push(artifact);
		return artifact;
	}

	/** Writes manifest.json last and atomically; after this the set is complete. */
	async commit(manifest: Manifest): Promise<string> {
		const text = serializeManifest(manifest);
		const finalPath = join(this.folder, MANIFEST_FILE);
		const temporary = `${finalPath}.partial`;
		try {
			const file = await open(temporary, 'wx', 0o640);
			try {
				await file.writeFile(text, 'utf8');
				await file.sync();
			} finally {
				await file.close();
			}
			await rename(temporary, finalPath);
			await unlink(join(this.folder, IN_PROGRESS_MARKER)).catch((error: unknown) => {
				if (systemErrorCode(error) !== 'ENOENT') throw error;
			});
			await syncFolder(this.folder);
		} catch (error) {
			throw this.translate(error);
		}
		this.finished = true;
		return finalPath;
	}

	/** Removes the unfinished set (and only it). Safe to call after a failure of any kind. */
	async abort(): Promise<void> {
		if (this.finished) return;
		await rm(this.folder, { recursive: true, force: true });
	}

	private translate(error: unknown) {
		return systemErrorCode(error) ? stagingError(error, this.root, 'writing to') : error;
	}
}

/** fsync of the folder makes the rename itself durable (a power cut keeps the manifest). */
async function syncFolder(folder: string): Promise<void> {
	const handle = await open(folder, 'r');
	try {
		await handle.sync();
	} catch (error) {
		// Some network filesystems refuse fsync on folders; the rename is still atomic there.
		if (!['EINVAL', 'EISDIR', 'ENOTSUP', 'EPERM'].includes(systemErrorCode(error) ?? '')) throw error;
	} finally {
		await handle.close();
	}
}
