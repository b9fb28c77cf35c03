import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { Writable } from 'node:stream';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import type { ArtifactRecord } from '../../backup-set/manifest';
import { BackupError, systemErrorCode } from '../../errors';
import type { ProgressListener } from '../../pipeline/hashing';
import { startCompression, type Codec } from './compression';
import { FsPacer } from './fs-pacer';
import { InlineHasher, WorkerHasher, type RangeHasher } from './range-hasher';
import { encodeTarHeader, tarPadding, TAR_END } from './tar-header';
import type { TreeEntry } from './tree';

/** Bytes per write to the compressor: tar blocks of many small files go in one write. */
const BATCH = 1 << 20;
/** Written but not yet taken by the compressor: stop reading above HIGH, go on below LOW. */
const BACKLOG_HIGH = 8 << 20;
const BACKLOG_LOW = 4 << 20;
/** Below this many bytes of files, hashing stays on the main thread (a worker takes ~30 ms to start). */
const WORKER_MIN_BYTES = 16 << 20;

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
 *
 * Tar blocks are built here (tar-header.ts) and file content is read straight into the
 * buffers handed to the compressor, many small files to a buffer: no per-file stream, copy
 * or write. On a fast local disk the reads are synchronous (see FsPacer); the files' hashes
 * are computed from those same buffers on a worker thread (range-hasher.ts), so `onFile`
 * comes a little after the file was read, always in the order of `entries`.
 */
export async function writeTarArchive(options: {
	set: BackupSetWriter;
	artifactPath: string;
	codec: Codec;
	entries: TreeEntry[];
	onFile: (entry: TreeEntry, stored: StoredFile) => void;
	onProgress?: ProgressListener;
	signal?: AbortSignal;
	/** Hash on a worker thread from this many bytes of files on (default 16 MiB; tests set 0 or Infinity). */
	workerMinBytes?: number;
	/** How filesystem calls are paced (tests pass one that finds every call slow). */
	pacer?: FsPacer;
}): Promise<ArtifactRecord> {
	const compression = startCompression(options.codec);
	const stop = new AbortController();
	const writing = options.set.writeArtifact(options.artifactPath, 'tar', compression.output, options.onProgress);
	// In a sealed set the file holds the ciphertext (larger): the compressor's bytes are checked
	// against what the set writer took from it instead. Listening after writeArtifact attached its
	// pipe loses nothing and leaves the flow control to that pipe.
	let taken = 0;
	if (options.set.sealed) compression.output.on('data', (chunk: Buffer) => (taken += chunk.length));
	writing.catch(() => stop.abort());
	compression.done.catch(() => stop.abort());
	const cancel = () => stop.abort();
	options.signal?.addEventListener('abort', cancel, { once: true });
	const fileBytes = options.entries.reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0);
	// The worker keeps each buffer it was shared, so only where buffers are refilled (not 'none').
	const hasher =
		fileBytes >= (options.workerMinBytes ?? WORKER_MIN_BYTES) && compression.releasesChunks
			? workerOrInline()
			: new InlineHasher();
	const results = new InOrder(options.onFile);
	const out = new BlockWriter(compression.input, stop.signal, {
		reuse: compression.releasesChunks,
		hasher,
		onDigests: (digests) => results.digested(digests),
	});
	try {
		try {
			const pacer = options.pacer ?? new FsPacer();
			const files = new FileReader(pacer, out, stop.signal);
			const ahead = new ReadAhead(options.entries);
			for (let i = 0; i < options.entries.length; i++) {
				const entry = options.entries[i];
				if (out.behind) await out.catchUp();
				if (stop.signal.aborted || out.failure) break;
				const prefetched = ahead.take(i, pacer.slow);
				if (entry.type === 'file') {
					const { stored, id } = prefetched ? files.add(entry, await prefetched) : await files.archive(entry);
					results.add(entry, stored, id);
				} else
					out.put(
						encodeTarHeader({
							name: entry.path,
							type: entry.type === 'dir' ? 'directory' : 'symlink',
							size: 0,
							mode: entry.mode,
							mtimeMs: entry.mtimeMs,
							uid: entry.uid,
							gid: entry.gid,
							uname: entry.uname,
							gname: entry.gname,
							linkname: entry.target,
						}),
					);
			}
			if (stop.signal.aborted || out.failure) compression.input.destroy(out.failure ?? new Error('stopped'));
			else {
				out.put(TAR_END);
				out.flush();
				compression.input.end();
				await out.hashed();
			}
		} catch (error) {
			compression.input.destroy(error as Error);
			const [written, compressed] = await Promise.allSettled([writing, compression.done]);
			if (options.signal?.aborted) throw stopped();
			// When the output side failed first (disk full, zstd died), that is the cause to report.
			if (stop.signal.aborted) {
				if (written.status === 'rejected') throw written.reason;
				if (compressed.status === 'rejected') throw compressed.reason;
			}
			throw error;
		}
		const [written, compressed] = await Promise.allSettled([writing, compression.done]);
		if (options.signal?.aborted) throw stopped();
		if (written.status === 'rejected') throw written.reason;
		if (compressed.status === 'rejected') throw compressed.reason;
		if (out.failure) throw out.failure;
		if (!results.complete()) throw new Error(`internal error: not every file of ${options.artifactPath} was hashed`);
		const produced = compression.producedBytes?.();
		const reached = options.set.sealed ? taken : written.value.bytes;
		if (produced !== undefined && produced !== reached)
			throw new BackupError(
				'DUMP_FAILED',
				`zstd wrote ${produced} bytes but ${reached} reached ${options.artifactPath}`,
				'The archive is incomplete and was not kept. Run the backup again; if it repeats, report it.',
			);
		return written.value;
	} finally {
		options.signal?.removeEventListener('abort', cancel);
		await hasher.close();
	}
}

/** A hashing thread, or hashing inline where threads cannot be started (same hashes, less parallel). */
function workerOrInline(): RangeHasher {
	try {
		return new WorkerHasher();
	} catch {
		return new InlineHasher();
	}
}

/** Hands each file's outcome to `onFile` in archive order, once its hash has come back. */
class InOrder {
	private readonly queue: Array<{ entry: TreeEntry; stored: StoredFile; ready: boolean }> = [];
	private readonly byId = new Map<number, { entry: TreeEntry; stored: StoredFile; ready: boolean }>();
	private head = 0;

	constructor(private readonly onFile: (entry: TreeEntry, stored: StoredFile) => void) {}

	/** `id` is the file's hashing id, or undefined when it was skipped (nothing to wait for). */
	add(entry: TreeEntry, stored: StoredFile, id: number | undefined) {
		const item = { entry, stored, ready: id === undefined };
		this.queue.push(item);
		if (id !== undefined) this.byId.set(id, item);
		this.release();
	}

	digested(digests: Array<[number, string]>) {
		for (const [id, sha256] of digests) {
			const item = this.byId.get(id)!;
			this.byId.delete(id);
			item.stored.sha256 = sha256;
			item.ready = true;
		}
		this.release();
	}

	complete(): boolean {
		return this.head === this.queue.length;
	}

	private release() {
		while (this.head < this.queue.length && this.queue[this.head].ready) {
			const { entry, stored } = this.queue[this.head];
			this.queue[this.head++] = undefined as never; // let it go
			this.onFile(entry, stored);
		}
	}
}

/** A point in the archive being built, to take back an entry that could not be read. */
interface Mark {
	flushed: number;
	used: number;
	ranges: number;
}

/**
 * Fills buffers of BATCH bytes with tar blocks and writes each, full, to the compressor's
 * input, handing the same buffer to the hasher for the file ranges it holds. A buffer is
 * refilled only once both are done with it, and at most BACKLOG_HIGH bytes wait in either:
 * memory stays flat whatever the tree.
 */
export class BlockWriter {
	buffer: Buffer;
	/** Bytes of `buffer` filled so far. */
	used = 0;
	/** [fileId, start, end, last] quadruples of file content in `buffer`, for the hasher. */
	private ranges: number[] = [];
	/** Buffers written so far: a mark in an earlier one can no longer be rewound to. */
	private flushed = 0;
	private writing = 0;
	private hashing = 0;
	private lastHash: Promise<unknown> = Promise.resolve();
	private wake?: () => void;
	/** Buffers nobody holds any more, refilled instead of allocating (less garbage collection). */
	private readonly spare: Buffer[] = [];
	private readonly shared: boolean;
	/** Why the input refused a write or the hasher failed, if one did. */
	failure?: Error;

	constructor(
		private readonly input: Writable,
		private readonly signal: AbortSignal,
		private readonly options: {
			reuse: boolean;
			hasher: RangeHasher;
			onDigests: (digests: Array<[number, string]>) => void;
		},
	) {
		this.shared = options.hasher instanceof WorkerHasher;
		this.buffer = this.newBuffer();
	}

	/** The compressor or the hasher is behind: `await catchUp()` before adding more. */
	get behind(): boolean {
		return this.writing > BACKLOG_HIGH || this.hashing > BACKLOG_HIGH;
	}

	async catchUp(): Promise<void> {
		while ((this.writing > BACKLOG_LOW || this.hashing > BACKLOG_LOW) && !this.failure && !this.signal.aborted) {
			await new Promise<void>((resolve) => {
				const done = () => {
					this.signal.removeEventListener('abort', done);
					this.wake = undefined;
					resolve();
				};
				this.wake = done;
				this.signal.addEventListener('abort', done, { once: true });
			});
		}
	}

	/** Room left in the current buffer, starting a new one when it is full. */
	room(): number {
		if (this.used === BATCH) this.flush();
		return BATCH - this.used;
	}

	put(bytes: Buffer) {
		for (let offset = 0; offset < bytes.length;) {
			const count = Math.min(this.room(), bytes.length - offset);
			bytes.copy(this.buffer, this.used, offset, offset + count);
			this.used += count;
			offset += count;
		}
	}

	zeros(count: number) {
		while (count > 0) {
			const n = Math.min(this.room(), count);
			this.buffer.fill(0, this.used, this.used + n);
			this.used += n;
			count -= n;
		}
	}

	/** `count` bytes of file `id` were just put in `buffer` at `used`: to be hashed. */
	commitFileBytes(id: number, count: number) {
		this.ranges.push(id, this.used, this.used + count, 0);
		this.used += count;
	}

	/** File `id` is complete: its hash comes back through onDigests. */
	endFile(id: number) {
		this.ranges.push(id, this.used, this.used, 1);
	}

	mark(): Mark {
		return { flushed: this.flushed, used: this.used, ranges: this.ranges.length };
	}

	/** Drops what was added since `mark`, when none of it was written yet; false otherwise. */
	rewind(mark: Mark): boolean {
		if (mark.flushed !== this.flushed) return false;
		this.used = mark.used;
		this.ranges.length = mark.ranges;
		return true;
	}

	flush() {
		if (!this.used) return;
		const full = this.buffer;
		const chunk = full.subarray(0, this.used);
		const ranges = this.ranges;
		this.buffer = this.spare.pop() ?? this.newBuffer();
		this.used = 0;
		this.ranges = [];
		this.flushed++;
		let holders = ranges.length ? 2 : 1;
		const release = () => {
			// Never more buffers than were ever in use at once: the backlog limits bound them.
			if (--holders === 0 && this.options.reuse) this.spare.push(full);
			if (this.wake && (this.failure || (this.writing <= BACKLOG_LOW && this.hashing <= BACKLOG_LOW))) this.wake();
		};
		this.writing += chunk.length;
		this.input.write(chunk, (error) => {
			this.writing -= chunk.length;
			if (error) this.failure ??= error;
			release();
		});
		if (!ranges.length) return;
		this.hashing += chunk.length;
		this.lastHash = this.options.hasher.hash(full, ranges).then(
			(digests) => {
				this.hashing -= chunk.length;
				this.options.onDigests(digests);
				release();
			},
			(error: Error) => {
				this.failure ??= error;
				this.wake?.();
			},
		);
	}

	/** Settles once every buffer written so far was hashed (and its digests delivered). */
	async hashed(): Promise<void> {
		await this.lastHash;
		if (this.failure) throw this.failure;
	}

	private newBuffer(): Buffer {
		return this.shared ? Buffer.from(new SharedArrayBuffer(BATCH)) : Buffer.allocUnsafe(BATCH);
	}
}

/**
 * Reads files into the archive: synchronously while the disk answers fast, through the thread
 * pool once it is slow (FsPacer). The bytes are hashed where they lie in the outgoing buffers.
 */
class FileReader {
	private nextId = 0;

	constructor(
		private readonly pacer: FsPacer,
		private readonly out: BlockWriter,
		private readonly signal: AbortSignal,
	) {}

	/** Adds one file; its `sha256` is filled in when the hasher returns `id`'s digest. */
	async archive(entry: TreeEntry): Promise<{ stored: StoredFile; id?: number }> {
		if (this.pacer.due()) await this.pacer.yield();
		let fd: number;
		try {
			fd = await this.open(entry.absolute);
		} catch (error) {
			return { stored: { sha256: '', size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) } };
		}
		const mark = this.out.mark();
		try {
			const before = await this.fstat(fd);
			const swapped = swappedSinceScan(entry, before);
			if (swapped) return { stored: { sha256: '', size: 0, mtimeMs: 0, mode: 0, skipped: swapped } };
			const size = before.size;
			const mode = before.mode & 0o7777;
			const out = this.out;
			const id = this.nextId++;
			out.put(
				encodeTarHeader({
					name: entry.path,
					type: 'file',
					size,
					mode,
					mtimeMs: before.mtimeMs,
					uid: entry.uid,
					gid: entry.gid,
					uname: entry.uname,
					gname: entry.gname,
				}),
			);
			let position = 0;
			let endedEarly = false;
			while (position < size) {
				if (out.behind) await out.catchUp();
				if (this.signal.aborted || out.failure) throw out.failure ?? new Error('stopped');
				if (this.pacer.due()) await this.pacer.yield();
				const length = Math.min(out.room(), size - position);
				const offset = out.used;
				let bytesRead = endedEarly ? 0 : await this.read(fd, out.buffer, offset, length, position);
				if (bytesRead === 0) {
					// The file shrank while read: keep the archive valid (tar promised `size` bytes).
					endedEarly = true;
					out.buffer.fill(0, offset, offset + length);
					bytesRead = length;
				}
				out.commitFileBytes(id, bytesRead);
				position += bytesRead;
			}
			out.endFile(id);
			out.zeros(tarPadding(size));
			const after = await this.fstat(fd);
			const inconsistent = compareStats(size, endedEarly ? size - 1 : size, before.mtimeMs, after.size, after.mtimeMs);
			return { stored: { sha256: '', size, mtimeMs: before.mtimeMs, mode, inconsistent }, id };
		} catch (error) {
			if (this.signal.aborted || this.out.failure) throw error;
			// Unreadable before any of it left: leave it out, as a file that vanished. Once part of
			// it is written the archive cannot take it back, and the backup fails.
			if (systemErrorCode(error) && this.out.rewind(mark))
				return { stored: { sha256: '', size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) } };
			throw error;
		} finally {
			await this.close(fd);
		}
	}

	/** Adds a file read ahead (ReadAhead, on a slow filesystem): its content is copied in. */
	add(entry: TreeEntry, read: SmallRead): { stored: StoredFile; id?: number } {
		if (read.skipped || !read.content)
			return { stored: { sha256: '', size: 0, mtimeMs: 0, mode: 0, skipped: read.skipped } };
		const out = this.out;
		const id = this.nextId++;
		out.put(
			encodeTarHeader({
				name: entry.path,
				type: 'file',
				size: read.size,
				mode: read.mode,
				mtimeMs: read.mtimeMs,
				uid: entry.uid,
				gid: entry.gid,
				uname: entry.uname,
				gname: entry.gname,
			}),
		);
		for (let offset = 0; offset < read.size;) {
			const count = Math.min(out.room(), read.size - offset);
			read.content.copy(out.buffer, out.used, offset, offset + count);
			out.commitFileBytes(id, count);
			offset += count;
		}
		out.endFile(id);
		out.zeros(tarPadding(read.size));
		return {
			stored: { sha256: '', size: read.size, mtimeMs: read.mtimeMs, mode: read.mode, inconsistent: read.inconsistent },
			id,
		};
	}

	private open(path: string): number | Promise<number> {
		return this.pacer.slow ? fsOpen(path, OPEN_FLAGS) : this.pacer.timed(() => fs.openSync(path, OPEN_FLAGS));
	}

	private fstat(fd: number): fs.Stats | Promise<fs.Stats> {
		return this.pacer.slow ? fsFstat(fd) : this.pacer.timed(() => fs.fstatSync(fd));
	}

	private read(fd: number, buffer: Buffer, offset: number, length: number, position: number): number | Promise<number> {
		return this.pacer.slow
			? fsRead(fd, buffer, offset, length, position)
			: this.pacer.timed(() => fs.readSync(fd, buffer, offset, length, position), length);
	}

	private async close(fd: number): Promise<void> {
		try {
			if (this.pacer.slow) await fsClose(fd);
			else fs.closeSync(fd);
		} catch {
			// read-only: nothing was lost
		}
	}
}

interface SmallRead {
	content?: Buffer;
	size: number;
	mtimeMs: number;
	mode: number;
	inconsistent?: string;
	skipped?: string;
}

/** Files up to this size are read ahead on a slow filesystem. */
const SMALL_FILE = 1 << 20;
const AHEAD_FILES = 64;
const AHEAD_BYTES = 32 << 20;

/**
 * On a slow filesystem (a network share, see FsPacer) each file costs several round trips:
 * the small files just ahead are read concurrently, a bounded number and size at a time, so
 * their latencies overlap. On a fast disk nothing is read ahead (direct reads are cheaper).
 */
class ReadAhead {
	private next = 0;
	private readonly pending = new Map<number, Promise<SmallRead>>();
	private bytes = 0;

	constructor(private readonly entries: TreeEntry[]) {}

	take(index: number, slow: boolean): Promise<SmallRead> | undefined {
		const read = this.pending.get(index);
		if (read) {
			this.pending.delete(index);
			this.bytes -= this.entries[index].size;
		}
		if (slow) this.fill(index);
		return read;
	}

	private fill(from: number) {
		if (this.next <= from) this.next = from + 1;
		while (
			this.next < this.entries.length &&
			this.next - from <= AHEAD_FILES * 4 &&
			this.pending.size < AHEAD_FILES &&
			this.bytes < AHEAD_BYTES
		) {
			const entry = this.entries[this.next];
			if (entry.type === 'file' && entry.size <= SMALL_FILE) {
				this.pending.set(this.next, readSmall(entry));
				this.bytes += entry.size;
			}
			this.next++;
		}
	}
}

/** Whole content of a small file, with the before/after check; never rejects. */
async function readSmall(entry: TreeEntry): Promise<SmallRead> {
	let fd: number;
	try {
		fd = await fsOpen(entry.absolute, OPEN_FLAGS);
	} catch (error) {
		return { size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	}
	try {
		const before = await fsFstat(fd);
		const swapped = swappedSinceScan(entry, before);
		if (swapped) return { size: 0, mtimeMs: 0, mode: 0, skipped: swapped };
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
		return {
			content,
			size,
			mtimeMs: before.mtimeMs,
			mode: before.mode & 0o7777,
			inconsistent: compareStats(size, position, before.mtimeMs, after.size, after.mtimeMs),
		};
	} catch (error) {
		return { size: 0, mtimeMs: 0, mode: 0, skipped: skipReason(error) };
	} finally {
		await fsClose(fd).catch(() => undefined);
	}
}

const stopped = () =>
	new BackupError(
		'DUMP_FAILED',
		'The backup was stopped before the archive was complete',
		'Nothing was kept: the unfinished set was removed.',
	);

/**
 * The path is opened long after the scan lstat'ed it: never follow a link swapped in meanwhile
 * (O_NOFOLLOW: ELOOP instead), and never wait on a FIFO or device swapped in (O_NONBLOCK; it
 * changes nothing for a regular file). Windows has neither flag; it has no FIFOs in a tree.
 */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

/** Why the opened file is not the regular file the scan saw, or undefined when it is. */
function swappedSinceScan(entry: TreeEntry, opened: fs.Stats): string | undefined {
	if (!opened.isFile()) return `replaced after the scan by ${specialType(opened)}: not a regular file, not archived`;
	if (entry.ino !== undefined && (opened.ino !== entry.ino || opened.dev !== entry.dev))
		return 'replaced by another file after the scan (another inode): not archived, the next backup takes it';
	return undefined;
}

const specialType = (s: fs.Stats) =>
	s.isFIFO()
		? 'a FIFO'
		: s.isDirectory()
			? 'a folder'
			: s.isSocket()
				? 'a socket'
				: s.isCharacterDevice() || s.isBlockDevice()
					? 'a device'
					: 'something else';

const fsOpen = promisify(fs.open);
const fsFstat = promisify(fs.fstat);
const fsClose = promisify(fs.close);
const fsRead = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
	new Promise<number>((resolve, reject) =>
		fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
	);

const skipReason = (error: unknown) => {
	const code = systemErrorCode(error);
	// O_NOFOLLOW met a link where the scan saw a regular file (Linux ELOOP, BSD/macOS EMLINK/EFTYPE).
	if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE')
		return 'replaced by a symbolic link after the scan: not followed, not archived';
	return code === 'ENOENT' ? 'vanished during the backup' : `not readable (${code ?? (error as Error).message})`;
};

function compareStats(
	size: number,
	read: number,
	mtimeBefore: number,
	sizeAfter: number,
	mtimeAfter: number,
): string | undefined {
	if (read < size) return `shrank from ${size} to ${sizeAfter} bytes while being read`;
	if (sizeAfter !== size) return `size changed from ${size} to ${sizeAfter} bytes while being read`;
	if (mtimeAfter !== mtimeBefore) return 'modified while being read (mtime changed)';
	return undefined;
}
