import { chmod, mkdir, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { BackupError, systemErrorCode } from '../errors';
import { stagingError } from '../location/staging-folder';
import { currentArtifactWatcher, GrowingFile, type ArtifactWatcher } from '../pipeline/growing-file';
import { HashingCounter, hashFile, writeHashed, type ProgressListener } from '../pipeline/hashing';
import { AgeEncryptStream, signManifest, type AgeRecipient, type SigningKey } from '../sealing';
import { makeBackupId } from './ids';
import {
	IN_PROGRESS_MARKER,
	isSealed,
	MANIFEST_FILE,
	MANIFEST_SIGNATURE_FILE,
	parseManifest,
	SEALED_MANIFEST_FORMAT_VERSION,
	SEALED_PART_KIND,
	SEALED_SUFFIX,
	unsealedPath,
	serializeManifest,
	type ArtifactRecord,
	type BackupType,
	type Component,
	type Inventory,
	type Manifest,
	type SealedPart,
} from './manifest';
import { currentSetKeys } from './set-keys';

/** Folders and files the set writer makes: private to the account n8n runs as. */
const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;
/** The sealed part's name in a sealed set (an artifact, so uploads and checks carry it like any other). */
export const SEALED_PART_FILE = `manifest.sealed.json${SEALED_SUFFIX}`;

/** Sealing of one set: for whom, and with which key its manifest is signed. */
interface WriterKeys {
	recipients?: readonly AgeRecipient[];
	signingKey?: SigningKey;
}

/**
 * Writes one backup set: `<root>/<environment>/<backupId>/`. The in-progress marker first (so a
 * dump killed before abort() leaves a folder Prune can prove is ours), then artifacts, each
 * hashed as it is written; the manifest last, atomically (temporary name, fsync, rename), then
 * the marker goes. A folder without manifest.json is always an unfinished set. `abort()` removes
 * only the folder this writer created. Folders are 0700 and files 0600.
 *
 * Sealed sets (the execution's keys have recipients, see set-keys.ts): every artifact is
 * encrypted as it streams in (age, `<path>.age`), the manifest records the ciphertext's size and
 * SHA-256 (so checks and uploads need no private key), and what reveals data (the inventory, the
 * plaintext hashes) goes into the sealed part. With a signing key, manifest.json gets its
 * detached signature (manifest.json.sig), written before the manifest so a complete set always
 * has it.
 */
export class BackupSetWriter {
	readonly artifacts: ArtifactRecord[] = [];
	private finished = false;
	/** Plaintext size and SHA-256 of each sealed artifact, by stored path. */
	private readonly plaintext: Record<string, { bytes: number; sha256: string }> = {};

	private constructor(
		readonly root: string,
		readonly environment: string,
		readonly backupId: string,
		readonly folder: string,
		private readonly keys: WriterKeys,
		/** Told about each artifact file as it is written (an upload that follows the dump), if any. */
		private readonly watcher: ArtifactWatcher | undefined = currentArtifactWatcher(),
	) {}

	/** Artifacts are sealed (age): a source must stream them through writeArtifact, never write files itself. */
	get sealed(): boolean {
		return (this.keys.recipients?.length ?? 0) > 0;
	}

	static async create(
		root: string,
		environment: string,
		type: BackupType,
		component: Component,
		startedAt: Date,
		keys: WriterKeys = currentSetKeys() ?? {},
	): Promise<BackupSetWriter> {
		const environmentFolder = join(root, environment);
		try {
			await mkdir(environmentFolder, { recursive: true, mode: FOLDER_MODE });
		} catch (error) {
			throw stagingError(error, root, 'creating a folder in');
		}
		for (let attempt = 1; ; attempt++) {
			const backupId = makeBackupId(environment, type, component, startedAt, attempt);
			const folder = join(environmentFolder, backupId);
			try {
				// Not recursive: failing on an existing folder guarantees we never write into, or
				// later remove, something that was already there.
				await mkdir(folder, { mode: FOLDER_MODE });
				await writeFile(
					join(folder, IN_PROGRESS_MARKER),
					JSON.stringify({ backupId, hostname: hostname(), pid: process.pid, startedAt: new Date().toISOString() }),
					{ flag: 'wx', mode: FILE_MODE },
				);
				return new BackupSetWriter(root, environment, backupId, folder, {
					recipients: keys.recipients,
					signingKey: keys.signingKey,
				});
			} catch (error) {
				if (systemErrorCode(error) === 'EEXIST' && attempt < 100) continue;
				throw stagingError(error, root, 'creating a backup set in');
			}
		}
	}

	private pathOf(relativePath: string): string {
		return join(this.folder, ...relativePath.split('/'));
	}

	/**
	 * Streams `source` into the set as `relativePath`, hashing as it writes. In a sealed set the
	 * stream is encrypted on its way to the disk and stored as `relativePath` + ".age": the record
	 * returned (and the manifest) holds that path and the ciphertext's size and SHA-256; the
	 * plaintext's go to the sealed part.
	 */
	async writeArtifact(
		relativePath: string,
		kind: string,
		source: Readable,
		onProgress?: ProgressListener,
	): Promise<ArtifactRecord> {
		// Start consuming now, before any await: Node discards a child's unread stdout when the
		// child exits, so a small pg_dump finishing during mkdir would otherwise become an empty
		// "valid" artifact. pipeline() forwards the source's errors to `consumed`.
		const consumed = new PassThrough({ highWaterMark: 1 << 20 });
		pipeline(source, consumed, () => undefined);
		if (!this.sealed) {
			const { bytes, sha256 } = await this.writeFile(relativePath, consumed, onProgress);
			return this.record({ path: relativePath, kind, bytes, sha256 });
		}
		const storedPath = `${relativePath}${SEALED_SUFFIX}`;
		const plain = new HashingCounter();
		const encrypt = new AgeEncryptStream(this.keys.recipients!);
		pipeline(consumed, plain, encrypt, () => undefined);
		const { bytes, sha256 } = await this.writeFile(storedPath, encrypt, onProgress);
		this.plaintext[storedPath] = { bytes: plain.bytes, sha256: plain.digest() };
		return this.record({ path: storedPath, kind, bytes, sha256 });
	}

	private async writeFile(relativePath: string, source: Readable, onProgress?: ProgressListener) {
		const target = this.pathOf(relativePath);
		try {
			await mkdir(dirname(target), { recursive: true, mode: FOLDER_MODE });
			const growing = this.announce(relativePath, target);
			try {
				const written = await writeHashed(source, target, {
					onProgress,
					onWritten: growing && ((n) => growing.grew(n)),
				});
				await chmod(target, FILE_MODE);
				growing?.finish(written.bytes);
				return written;
			} catch (error) {
				growing?.fail(error);
				throw error;
			}
		} catch (error) {
			source.destroy();
			throw this.translate(error);
		}
	}

	/** Tells the watcher (if any) that this file is being written; a watcher's failure never fails the set. */
	private announce(relativePath: string, file: string): GrowingFile | undefined {
		if (!this.watcher) return undefined;
		const growing = new GrowingFile(file);
		try {
			this.watcher.artifactStarted({
				environment: this.environment,
				backupId: this.backupId,
				path: relativePath,
				growing,
			});
			return growing;
		} catch {
			return undefined;
		}
	}

	/** Hashes a file that a tool (pg_dump -Fd) wrote into the set folder itself. Never in a sealed set. */
	async addWrittenFile(relativePath: string, kind: string): Promise<ArtifactRecord> {
		if (this.sealed)
			throw new BackupError(
				'INVALID_INPUT',
				`${relativePath} was written by a tool straight into the set folder, so it could not be encrypted as it was written; a sealed set never holds plaintext, so the set was not kept.`,
				'Use a format that streams through the node (PostgreSQL: Custom (-Fc)), or turn "Encrypt and Sign" off.',
			);
		const path = this.pathOf(relativePath);
		await chmod(path, FILE_MODE).catch(() => undefined);
		const { bytes, sha256 } = await hashFile(path);
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

	/**
	 * Writes manifest.json last and atomically; after this the set is complete. A sealed set's
	 * manifest is completed in place first (`manifest` becomes the unsealed view: encryption facts,
	 * the sealed part among the artifacts, plaintext hashes on each), and manifest.json gets the
	 * public form (inventory null). With a signing key the signature is written before the
	 * manifest.
	 */
	async commit(manifest: Manifest): Promise<string> {
		let written = manifest;
		try {
			if (this.sealed) written = await this.seal(manifest);
		} catch (error) {
			throw error instanceof BackupError ? error : this.translate(error);
		}
		const text = serializeManifest(written);
		const finalPath = join(this.folder, MANIFEST_FILE);
		const temporary = `${finalPath}.partial`;
		try {
			const file = await open(temporary, 'wx', FILE_MODE);
			try {
				await file.writeFile(text, 'utf8');
				await file.sync();
			} finally {
				await file.close();
			}
			if (this.keys.signingKey) {
				const signature = signManifest(Buffer.from(text, 'utf8'), this.keys.signingKey, { signedFile: MANIFEST_FILE });
				await writeFile(join(this.folder, MANIFEST_SIGNATURE_FILE), signature, { flag: 'wx', mode: FILE_MODE });
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

	/** The sealed part, written as the last artifact; returns the public manifest (inventory null). */
	private async seal(manifest: Manifest): Promise<Manifest> {
		await this.refuseUnsealedParent(manifest);
		const part: SealedPart = {
			format: 'totvs-backup-sealed/1',
			backupId: manifest.backupId,
			inventory: manifest.inventory,
			plaintext: { ...this.plaintext },
		};
		const plaintexts = { ...this.plaintext };
		const record = await this.writeArtifact(
			unsealedPath(SEALED_PART_FILE),
			SEALED_PART_KIND,
			Readable.from([Buffer.from(JSON.stringify(part), 'utf8')]),
		);
		delete this.plaintext[record.path];
		const encryption = {
			method: 'age' as const,
			recipients: this.keys.recipients!.map((r) => ({ fingerprint: r.fingerprint })),
			sealedPart: record.path,
		};
		// The caller's manifest becomes the unsealed view of what was written.
		manifest.formatVersion = SEALED_MANIFEST_FORMAT_VERSION;
		manifest.encryption = encryption;
		manifest.artifacts = this.artifacts.map((a) => (plaintexts[a.path] ? { ...a, plaintext: plaintexts[a.path] } : a));
		return {
			...manifest,
			artifacts: this.artifacts.map(({ path, bytes, sha256, kind }) => ({ path, bytes, sha256, kind })),
			inventory: null as unknown as Inventory,
		};
	}

	/**
	 * A sealed differential or incremental on a parent made in the clear would leave the chain
	 * half readable and its restore needing two kinds of set: refused, before the manifest.
	 */
	private async refuseUnsealedParent(manifest: Manifest): Promise<void> {
		if (!manifest.parentBackupId) return;
		const parentPath = join(this.root, this.environment, manifest.parentBackupId, MANIFEST_FILE);
		let parent: Manifest;
		try {
			parent = parseManifest(await readFile(parentPath, 'utf8'), parentPath);
		} catch (error) {
			if (systemErrorCode(error) === 'ENOENT') return; // not here: the chain check of its restore speaks
			throw error;
		}
		if (!isSealed(parent))
			throw new BackupError(
				'INVALID_INPUT',
				`Encryption is on, but this ${manifest.type} backup builds on ${manifest.parentBackupId}, which was made without encryption; a chain must be sealed from its full backup on, so this set was not kept.`,
				'Make a full backup with "Encrypt and Sign" on first: the next differential/incremental/log backups build on it. Or turn encryption off until the next full backup.',
			);
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
