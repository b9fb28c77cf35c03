import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FileEntry } from '../../../backup-set/files-manifest';
import { BackupError, systemErrorCode } from '../../../errors';
import type { ArchiveEntry } from '../archive-reader';
import type { OwnerSetter } from './owners';

/** Content that does not match the index is refused: the archive was damaged or altered. */
function checkContent(path: string, size: number, sha256: string, expected: FileEntry): void {
	if (sha256 !== expected.sha256 || size !== expected.size)
		throw new BackupError(
			'RESTORE_FAILED',
			`${path}: restored content (${size} bytes, SHA-256 ${sha256.slice(0, 12)}…) differs from the index (${expected.size} bytes, ${expected.sha256?.slice(0, 12)}…)`,
			'The archive was damaged or altered: verify the set and use another copy.',
		);
}

/** Files up to this size are read whole, checked, then written while the archive reads on. */
const SMALL_FILE = 1 << 20;
/** At most this many small-file writes, and this many bytes of them, in flight: memory stays flat. */
const MAX_PENDING = 16;
const MAX_PENDING_BYTES = 16 << 20;

/**
 * Writes only inside `root`, never through a link, and keeps link targets inside it. Small
 * files are written in the background (a bounded number at once) so that a tree of thousands of
 * small files is not restored one file-system round trip at a time; `flush` waits for them and
 * throws the first error any of them had.
 */
export class SafeWriter {
	private realDirs = new Set<string>();
	private pending = new Set<Promise<void>>();
	private pendingBytes = 0;
	private failure: { error: unknown } | undefined;

	constructor(private readonly root: string) {}

	/** Waits for every background write; throws the first failure. */
	async flush(): Promise<void> {
		await this.settle();
		if (this.failure) throw this.failure.error;
	}

	/** Waits for every background write, whatever happened to them (before removing a failed restore). */
	async settle(): Promise<void> {
		while (this.pending.size) await Promise.all([...this.pending]);
	}

	private async enqueue(bytes: number, write: () => Promise<void>): Promise<void> {
		while (this.pending.size && (this.pending.size >= MAX_PENDING || this.pendingBytes + bytes > MAX_PENDING_BYTES))
			await Promise.race(this.pending);
		if (this.failure) throw this.failure.error;
		this.pendingBytes += bytes;
		const task: Promise<void> = write()
			.catch((error: unknown) => {
				this.failure ??= { error };
			})
			.finally(() => {
				this.pending.delete(task);
				this.pendingBytes -= bytes;
			});
		this.pending.add(task);
	}

	private pathOf(segments: string[]): string {
		const path = join(this.root, ...segments);
		if (!path.startsWith(this.root + sep))
			throw new BackupError(
				'UNSAFE_ARCHIVE',
				`Entry "${segments.join('/')}" resolves outside ${this.root}`,
				'The archive was altered: do not use it.',
			);
		return path;
	}

	/** Makes every parent of `segments` a real folder (not a link), creating what is missing. */
	private async parents(segments: string[]): Promise<void> {
		let path = this.root;
		for (const segment of segments.slice(0, -1)) {
			path = join(path, segment);
			if (this.realDirs.has(path)) continue;
			await this.realFolder(path, segments.join('/'));
		}
	}

	private async realFolder(path: string, entry: string): Promise<void> {
		try {
			const info = await lstat(path);
			if (info.isSymbolicLink())
				throw new BackupError(
					'UNSAFE_ARCHIVE',
					`Archive entry "${entry}" would be written through the link ${relative(this.root, path)}`,
					'The archive was altered: do not use it. Nothing was written through the link.',
				);
			if (!info.isDirectory())
				throw new BackupError(
					'RESTORE_FAILED',
					`${path} is a file where the archive has a folder`,
					'The chain is inconsistent: use another copy of the sets.',
				);
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
			await mkdir(path, { mode: 0o700 });
		}
		this.realDirs.add(path);
	}

	async directory(segments: string[]): Promise<void> {
		await this.parents(segments);
		await this.realFolder(this.pathOf(segments), segments.join('/'));
	}

	/** Creates the link, or returns why it was refused. */
	async symlink(segments: string[], linkTarget: string): Promise<string | undefined> {
		await this.parents(segments);
		const path = this.pathOf(segments);
		const parts = linkTarget.split(/[\\/]+/).filter((s) => s && s !== '.');
		const firstDown = parts.findIndex((s) => s !== '..');
		const reason = !linkTarget
			? 'empty link target'
			: isAbsolute(linkTarget) || /^[A-Za-z]:/.test(linkTarget) || linkTarget.startsWith('\\')
				? 'absolute link target'
				: firstDown !== -1 && parts.slice(firstDown).includes('..')
					? 'link target climbs with ".." after descending'
					: !`${resolve(dirname(path), linkTarget)}${sep}`.startsWith(this.root + sep)
						? 'link target outside the restore folder'
						: undefined;
		await this.removeExisting(path);
		if (reason) return `${reason} (${linkTarget}): not created`;
		try {
			await symlink(linkTarget, path);
		} catch (error) {
			// Windows lets only administrators (or Developer Mode) create links: report it, keep restoring.
			if (systemErrorCode(error) === 'EPERM')
				return `links cannot be created here (EPERM; on Windows run n8n as administrator or enable Developer Mode): ${linkTarget}`;
			throw error;
		}
		return undefined;
	}

	async file(entry: ArchiveEntry, expected: FileEntry): Promise<number> {
		await this.parents(entry.segments);
		const path = this.pathOf(entry.segments);
		const tooLarge = (bytes: number | string) =>
			new BackupError(
				'RESTORE_FAILED',
				`${entry.path}: the archive holds more than the ${expected.size} bytes its index records (${bytes} bytes); the restore stopped at that entry and removed its partial file`,
				'The archive was damaged or altered: verify the set and use another copy.',
			);
		// The header's size is known before any byte is written: refuse at once.
		if (typeof entry.header.size === 'number' && entry.header.size > expected.size) {
			entry.stream.resume();
			throw tooLarge(entry.header.size);
		}
		if (expected.size <= SMALL_FILE) return this.smallFile(entry, expected, path, tooLarge);
		await this.removeExisting(path);
		const hash = createHash('sha256');
		let size = 0;
		// 'wx': never follow or reuse whatever is at the path (removed just above).
		const out = createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
		try {
			for await (const chunk of entry.stream as AsyncIterable<Buffer>) {
				// Counted before writing, whatever the header said: never more than the index size on disk.
				if (size + chunk.length > expected.size) throw tooLarge(`at least ${size + chunk.length}`);
				hash.update(chunk);
				size += chunk.length;
				if (!out.write(chunk)) await once(out, 'drain');
			}
			out.end();
			await once(out, 'close');
			checkContent(entry.path, size, hash.digest('hex'), expected);
		} catch (error) {
			if (!out.closed) {
				out.destroy();
				await once(out, 'close').catch(() => undefined);
			}
			// Content that does not match the index is not restored content: leave none of it.
			await unlink(path).catch(() => undefined);
			throw error;
		}
		return size;
	}

	/** A small file: read whole and checked against the index here, written in the background. */
	private async smallFile(
		entry: ArchiveEntry,
		expected: FileEntry,
		path: string,
		tooLarge: (bytes: number | string) => BackupError,
	): Promise<number> {
		const hash = createHash('sha256');
		const chunks: Buffer[] = [];
		let size = 0;
		for await (const chunk of entry.stream as AsyncIterable<Buffer>) {
			if (size + chunk.length > expected.size) throw tooLarge(`at least ${size + chunk.length}`);
			hash.update(chunk);
			chunks.push(chunk);
			size += chunk.length;
		}
		checkContent(entry.path, size, hash.digest('hex'), expected);
		const content = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
		// 'wx': never follow or reuse whatever is at the path. What an earlier set of the chain left
		// there is removed only when the path is taken (as tar does): no lstat for every new file.
		await this.enqueue(size, async () => {
			try {
				await writeFile(path, content, { flag: 'wx', mode: 0o600 }).catch(async (error: unknown) => {
					if (systemErrorCode(error) !== 'EEXIST') throw error;
					await this.removeExisting(path);
					await writeFile(path, content, { flag: 'wx', mode: 0o600 });
				});
			} catch (error) {
				await unlink(path).catch(() => undefined);
				throw error;
			}
		});
		return size;
	}

	private async removeExisting(path: string): Promise<void> {
		try {
			const info = await lstat(path);
			if (info.isDirectory())
				throw new BackupError(
					'RESTORE_FAILED',
					`${path} is a folder where the archive has a file or link`,
					'The chain is inconsistent: use another copy of the sets.',
				);
			await unlink(path);
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
		}
	}

	/** Removes what the previous point had and the next one does not (or has with another type). */
	async applyDeletions(before: FileEntry[], after: FileEntry[]): Promise<void> {
		const next = new Map(after.map((e) => [e.path, e.type]));
		const gone = before.filter((e) => next.get(e.path) !== e.type).map((e) => e.path);
		gone.sort((a, b) => b.length - a.length);
		for (const path of gone) {
			const absolute = this.pathOf(path.split('/'));
			await rm(absolute, { recursive: true, force: true }); // rm removes a link itself, never its target
		}
		this.realDirs.clear();
	}

	/**
	 * Owners (when restoring as root), modes and mtimes from the index, folders deepest first
	 * (writing into a folder changes its mtime). Owner before mode: chown clears setuid/setgid bits.
	 */
	async applyAttributes(entries: FileEntry[], refused: Map<string, unknown>, owners?: OwnerSetter): Promise<void> {
		// Deepest first; the entries of one depth are independent, so they go a few at a time.
		const byDepth = new Map<number, FileEntry[]>();
		for (const entry of entries) {
			const depth = entry.path.split('/').length;
			const level = byDepth.get(depth);
			if (level) level.push(entry);
			else byDepth.set(depth, [entry]);
		}
		for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
			const level = byDepth.get(depth)!;
			let next = 0;
			const worker = async () => {
				while (next < level.length) {
					const entry = level[next++];
					if (!refused.has(entry.path)) await this.applyEntryAttributes(entry, owners);
				}
			};
			await Promise.all(Array.from({ length: Math.min(MAX_PENDING, level.length) }, worker));
		}
	}

	private async applyEntryAttributes(entry: FileEntry, owners?: OwnerSetter): Promise<void> {
		const path = this.pathOf(entry.path.split('/'));
		// Seconds as a double lose the last millisecond (…524 becomes …523.9999): aim half a microsecond in.
		const when = (new Date(entry.mtime).getTime() + 0.0005) / 1000;
		let info;
		try {
			info = await lstat(path);
		} catch (error) {
			if (systemErrorCode(error) === 'ENOENT')
				throw new BackupError(
					'RESTORE_FAILED',
					`${entry.path} is in the index but not in any archive of the chain`,
					'The chain is incomplete or damaged: verify its sets.',
				);
			throw error;
		}
		const actual = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : 'file';
		if (actual !== entry.type)
			throw new BackupError(
				'RESTORE_FAILED',
				`${entry.path} was restored as a ${actual}, the index has a ${entry.type}`,
				'The chain is damaged: verify its sets.',
			);
		await owners?.apply(path, entry);
		if (entry.type === 'symlink') {
			await lutimes(path, when, when).catch(() => undefined); // not every filesystem keeps link times
			return;
		}
		await chmod(path, entry.mode);
		await utimes(path, when, when);
	}
}
