import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import type { ArtifactRecord } from '../../backup-set/manifest';
import { BackupError, systemErrorCode } from '../../errors';
import type { ProgressListener } from '../../pipeline/hashing';
import { compress, type Codec } from './compression';
import { FsPacer } from './fs-pacer';
import type { TreeEntry } from './tree';

const CHUNK = 1 << 20;
/** Small files are read ahead, several at a time, so per-file latency (open, stat, close) overlaps with packing. */
const SMALL_FILE = 1 << 20;
const AHEAD_FILES = 64;
const AHEAD_BYTES = 32 << 20;

/** What was stored for one file: the hash of the bytes in the archive, and whether it changed while read. */
export interface StoredFile {
	sha256: string;
	size: number;
	mtimeMs: number;
	mode: number;
	/** Why the copy may be torn (written to while read), or undefined when it is consistent. */
	inconsistent?: string;
	/** The file disappeared or became unreadable between the walk and the read. */
	skipped?: string;
}

/**
 * Streams entries into one tar archive, compressed, into the set: each file hashed (SHA-256)
 * as it is read, the archive hashed as it is written. A file is read up to the size it had
 * when opened (tar needs the size up front); when its size or mtime differs after the read,
 * or it ended early (the gap is zero-filled), it is reported as inconsistent.
 */
export async function writeTarArchive(options: {
	set: BackupSetWriter;
	artifactPath: string;
	codec: Codec;
	entries: TreeEntry[];
	onFile: (entry: TreeEntry, stored: StoredFile) => void;
	onProgress?: ProgressListener;
	signal?: AbortSignal;
}): Promise<ArtifactRecord> {
	const pack = tar.pack();
	const compression = compress(options.codec, nodeReadable(pack));
	const stop = new AbortController();
	const writing = options.set.writeArtifact(options.artifactPath, 'tar', compression.output, options.onProgress);
	writing.catch(() => stop.abort());
	compression.done.catch(() => stop.abort());
	const cancel = () => stop.abort();
	options.signal?.addEventListener('abort', cancel, { once: true });
	try {
		try {
			const ahead = new ReadAhead(options.entries);
			for (let i = 0; i < options.entries.length; i++) {
				const entry = options.entries[i];
				if (stop.signal.aborted) break;
				const prefetched = ahead.take(i);
				if (prefetched) {
					options.onFile(entry, await addRead(pack, entry, await prefetched));
				} else if (entry.type === 'file') {
					const stored = await addFile(pack, entry, stop.signal);
					options.onFile(entry, stored);
				} else {
					await addEntry(pack, headerOf(entry, entry.size, entry.mtimeMs, entry.mode));
				}
			}
			if (!stop.signal.aborted) pack.finalize();
			else pack.destroy(new Error('stopped'));
		} catch (error) {
			pack.destroy(error as Error);
			const [written, compressed] = await Promise.allSettled([writing, compression.done]);
			// When the output side failed first (disk full, zstd died), that is the cause to report.
			if (stop.signal.aborted && !options.signal?.aborted) {
				if (written.status === 'rejected') throw written.reason;
				if (compressed.status === 'rejected') throw compressed.reason;
			}
			throw error;
		}
		const [written, compressed] = await Promise.allSettled([writing, compression.done]);
		if (options.signal?.aborted)
			throw new BackupError('DUMP_FAILED', 'The backup was stopped before the archive was complete', 'Nothing was kept: the unfinished set was removed.');
		if (written.status === 'rejected') throw written.reason;
		if (compressed.status === 'rejected') throw compressed.reason;
		const produced = compression.producedBytes?.();
		if (produced !== undefined && produced !== written.value.bytes)
			throw new BackupError('DUMP_FAILED', `zstd wrote ${produced} bytes but ${written.value.bytes} reached ${options.artifactPath}`, 'The archive is incomplete and was not kept. Run the backup again; if it repeats, report it.');
		return written.value;
	} finally {
		options.signal?.removeEventListener('abort', cancel);
	}
}

/**
 * tar-stream's pack is a streamx stream; bridging it by hand (data / pause / resume) moves
 * bytes about three times faster than Readable.from's async iteration.
 */
function nodeReadable(pack: tar.Pack): Readable {
	const out = new Readable({
		highWaterMark: 1 << 20,
		read: () => pack.resume(),
		destroy: (error, callback) => {
			pack.destroy(error ?? undefined);
			callback(error);
		},
	});
	pack.on('data', (chunk: unknown) => {
		if (!out.push(chunk as Buffer)) pack.pause();
	});
	pack.on('end', () => out.push(null));
	pack.on('error', (error: unknown) => out.destroy(error as Error));
	return out;
}

function headerOf(entry: TreeEntry, size: number, mtimeMs: number, mode: number): Partial<tar.Header> & { name: string } {
	return {
		name: entry.path,
		type: entry.type === 'dir' ? 'directory' : entry.type === 'symlink' ? 'symlink' : 'file',
		size: entry.type === 'file' ? size : 0,
		mode,
		mtime: new Date(Math.floor(mtimeMs)),
		uid: entry.uid,
		gid: entry.gid,
		linkname: entry.target ?? undefined,
	};
}

/** Adds one entry; its outcome comes through the callback (the entry stream's own 'error' event would be unhandled). */
function addEntry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, content?: Buffer): Promise<void> {
	return new Promise((resolve, reject) => {
		const done = (error?: Error | null) => (error ? reject(error) : resolve());
		const sink = content ? pack.entry(header, content, done) : pack.entry(header, done);
		sink.on('error', () => undefined);
	});
}

interface SmallRead {
	content?: Buffer;
	size: number;
	mtimeMs: number;
	mode: number;
	inconsistent?: string;
	skipped?: string;
}

/** Reads the small files just ahead of the packer, a bounded number and size at a time (memory stays bounded). */
class ReadAhead {
	private next = 0;
	private readonly pending = new Map<number, Promise<SmallRead>>();
	private bytes = 0;
	private readonly pacer = new FsPacer();

	constructor(private readonly entries: TreeEntry[]) {}

	take(index: number): Promise<SmallRead> | undefined {
		const read = this.pending.get(index);
		if (read) {
			this.pending.delete(index);
			this.bytes -= this.entries[index].size;
		}
		this.fill(index);
		return read;
	}

	private fill(from: number) {
		if (this.next <= from) this.next = from + 1;
		while (this.next < this.entries.length && this.next - from <= AHEAD_FILES * 4 && this.pending.size < AHEAD_FILES && this.bytes < AHEAD_BYTES) {
			const entry = this.entries[this.next];
			if (entry.type === 'file' && entry.size <= SMALL_FILE) {
				this.pending.set(this.next, this.pacer.run(() => readSmallSync(entry), () => readSmall(entry)));
				this.bytes += entry.size;
			}
			this.next++;
		}
	}
}

/** Whole content of a small file, with the before/after check; never rejects. Callback fs: lighter than FileHandle. */
async function readSmall(entry: TreeEntry): Promise<SmallRead> {
	let fd: number;
	try {
		fd = await fsOpen(entry.absolute, 'r');
	} catch (error) {
		return { size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	}
	try {
		const before = await fsFstat(fd);
		const size = before.size;
		const content = Buffer.allocUnsafe(size);
		let position = 0;
		while (position < size) {
			const bytesRead = await fsRead(fd, content, position, size - position, position);
			if (bytesRead === 0) break;
			position += bytesRead;
		}
		content.fill(0, position); // a file that shrank keeps the promised size, zero-filled
		const after = await fsFstat(fd);
		return { content, size, mtimeMs: before.mtimeMs, mode: before.mode & 0o7777, inconsistent: compareStats(size, position, before.mtimeMs, after.size, after.mtimeMs) };
	} catch (error) {
		return { size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	} finally {
		await fsClose(fd).catch(() => undefined);
	}
}

/** readSmall, synchronously: for local disks, where it is many times cheaper (see FsPacer). */
function readSmallSync(entry: TreeEntry): SmallRead {
	let fd: number;
	try {
		fd = fs.openSync(entry.absolute, 'r');
	} catch (error) {
		return { size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	}
	try {
		const before = fs.fstatSync(fd);
		const size = before.size;
		const content = Buffer.allocUnsafe(size);
		let position = 0;
		while (position < size) {
			const bytesRead = fs.readSync(fd, content, position, size - position, position);
			if (bytesRead === 0) break;
			position += bytesRead;
		}
		content.fill(0, position);
		const after = fs.fstatSync(fd);
		return { content, size, mtimeMs: before.mtimeMs, mode: before.mode & 0o7777, inconsistent: compareStats(size, position, before.mtimeMs, after.size, after.mtimeMs) };
	} catch (error) {
		return { size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	} finally {
		fs.closeSync(fd);
	}
}

const fsOpen = promisify(fs.open);
const fsFstat = promisify(fs.fstat);
const fsClose = promisify(fs.close);
const fsRead = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
	new Promise<number>((resolve, reject) => fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

const skipReason = (error: unknown) => {
	const code = systemErrorCode(error);
	return code === 'ENOENT' ? 'vanished during the backup' : `not readable (${code ?? (error as Error).message})`;
};

function compareStats(size: number, read: number, mtimeBefore: number, sizeAfter: number, mtimeAfter: number): string | undefined {
	if (read < size) return `shrank from ${size} to ${sizeAfter} bytes while being read`;
	if (sizeAfter !== size) return `size changed from ${size} to ${sizeAfter} bytes while being read`;
	if (mtimeAfter !== mtimeBefore) return 'modified while being read (mtime changed)';
	return undefined;
}

async function addRead(pack: tar.Pack, entry: TreeEntry, read: SmallRead): Promise<StoredFile> {
	if (read.skipped || !read.content) return { sha256: '', size: 0, mtimeMs: 0, mode: 0, skipped: read.skipped };
	const content = read.content;
	await addEntry(pack, headerOf(entry, read.size, read.mtimeMs, read.mode), content);
	return { sha256: createHash('sha256').update(content).digest('hex'), size: read.size, mtimeMs: read.mtimeMs, mode: read.mode, inconsistent: read.inconsistent };
}

async function addFile(pack: tar.Pack, entry: TreeEntry, signal: AbortSignal): Promise<StoredFile> {
	let file: FileHandle;
	try {
		file = await open(entry.absolute, 'r');
	} catch (error) {
		return { sha256: '', size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	}
	try {
		const before = await file.stat();
		const size = before.size;
		const hash = createHash('sha256');
		let finish!: (error?: Error | null) => void;
		const added = new Promise<void>((resolve, reject) => (finish = (error) => (error ? reject(error) : resolve())));
		added.catch(() => undefined); // awaited below; if a read fails first, its own error is the one reported
		const sink = pack.entry(headerOf(entry, size, before.mtimeMs, before.mode & 0o7777), (error) => finish(error));
		sink.on('error', () => undefined); // reported through the callback
		let position = 0;
		let endedEarly = false;
		while (position < size) {
			const want = Math.min(CHUNK, size - position);
			let chunk = Buffer.allocUnsafe(want);
			const { bytesRead } = await file.read(chunk, 0, want, position);
			if (bytesRead === 0) {
				// The file shrank while read: keep the archive valid (tar promised `size` bytes).
				endedEarly = true;
				chunk = Buffer.alloc(want);
			} else if (bytesRead < want) chunk = chunk.subarray(0, bytesRead);
			position += chunk.length;
			hash.update(chunk);
			if (!sink.write(chunk)) await once(sink, 'drain', { signal });
		}
		sink.end(undefined);
		await added;
		const after = await file.stat();
		const inconsistent = compareStats(size, endedEarly ? size - 1 : size, before.mtimeMs, after.size, after.mtimeMs);
		return { sha256: hash.digest('hex'), size, mtimeMs: before.mtimeMs, mode: before.mode & 0o7777, inconsistent };
	} finally {
		await file.close();
	}
}
