import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface Progress {
	bytes: number;
	elapsedMs: number;
}
export type ProgressListener = (progress: Progress) => void;

export interface HashedBytes {
	bytes: number;
	sha256: string;
}

/**
 * A pass-through stage that hashes and counts the bytes flowing to the file, and reports
 * progress at most once per `intervalMs`. Memory stays flat: chunks are handed on, never kept.
 */
export class HashingCounter extends Transform {
	private readonly hash = createHash('sha256');
	private readonly started = Date.now();
	private lastReport = this.started;
	bytes = 0;

	constructor(
		private readonly onProgress?: ProgressListener,
		private readonly intervalMs = 10_000,
	) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.hash.update(chunk);
		this.bytes += chunk.length;
		const now = Date.now();
		if (this.onProgress && now - this.lastReport >= this.intervalMs) {
			this.lastReport = now;
			this.onProgress({ bytes: this.bytes, elapsedMs: now - this.started });
		}
		callback(null, chunk);
	}

	digest(): string {
		return this.hash.digest('hex');
	}
}

/**
 * Streams `source` into a new file (never overwriting one: 'wx'), hashing as it writes, and
 * fsyncs before returning so a reported hash is of bytes that are on disk.
 */
export async function writeHashed(
	source: Readable,
	filePath: string,
	options: {
		onProgress?: ProgressListener;
		progressIntervalMs?: number;
		/** After each completed write, with the bytes on the file so far (another reader can see them). */
		onWritten?: (bytes: number) => void;
	} = {},
): Promise<HashedBytes> {
	const sink = new HashingFileWriter(filePath, options.onProgress, options.progressIntervalMs, options.onWritten);
	await pipeline(source, sink);
	return { bytes: sink.bytes, sha256: sink.digest() };
}

/**
 * Writes to a new file and hashes the same chunks in one stage: each batch of chunks goes to
 * disk with one writev while it is hashed here (one stream hop fewer than a hashing Transform
 * before a WriteStream). `final` fsyncs, so 'finish' means the bytes are on disk.
 */
export class HashingFileWriter extends Writable {
	private readonly hash = createHash('sha256');
	private readonly started = Date.now();
	private lastReport = this.started;
	private fd?: number;
	/** Bytes written since the last flush to disk was started. */
	private unsynced = 0;
	/** A flush running in the background, so the one in `final` has little left to do. */
	private syncing?: Promise<void>;
	private syncError?: Error;
	bytes = 0;

	constructor(
		private readonly filePath: string,
		private readonly onProgress?: ProgressListener,
		private readonly intervalMs = 10_000,
		private readonly onWritten?: (bytes: number) => void,
	) {
		super({ highWaterMark: 1 << 20 });
	}

	/** Bytes whose write has completed (the hash may be ahead: it is updated while the write runs). */
	private onFile = 0;

	override _construct(callback: (error?: Error | null) => void) {
		fs.open(this.filePath, 'wx', 0o640, (error, fd) => {
			this.fd = fd;
			callback(error);
		});
	}

	override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
		this.writeAll([chunk], callback);
	}

	override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void) {
		this.writeAll(
			chunks.map((c) => c.chunk),
			callback,
		);
	}

	private writeAll(buffers: Buffer[], callback: (error?: Error | null) => void) {
		let total = 0;
		for (const b of buffers) total += b.length;
		if (this.syncError) return callback(this.syncError);
		const write = (rest: Buffer[], left: number) =>
			fs.writev(this.fd!, rest, (error, written) => {
				if (error) return callback(error);
				if (written < left) return write(skip(rest, written), left - written); // a short write: go on from where it stopped
				this.unsynced += total;
				this.onFile += total;
				if (this.unsynced >= SYNC_EVERY && !this.syncing) this.startSync();
				this.onWritten?.(this.onFile);
				callback();
			});
		write(buffers, total);
		// Hashed while the thread pool writes: the same bytes, never changed meanwhile.
		for (const b of buffers) this.hash.update(b);
		this.bytes += total;
		const now = Date.now();
		if (this.onProgress && now - this.lastReport >= this.intervalMs) {
			this.lastReport = now;
			this.onProgress({ bytes: this.bytes, elapsedMs: now - this.started });
		}
	}

	/** Starts writing the data so far to disk while writing goes on (a final fsync of a whole archive can take seconds). */
	private startSync() {
		this.unsynced = 0;
		const fd = this.fd!;
		this.syncing = new Promise((resolve) =>
			fs.fdatasync(fd, (error) => {
				if (error) this.syncError ??= error;
				this.syncing = undefined;
				resolve();
			}),
		);
	}

	override _final(callback: (error?: Error | null) => void) {
		void (this.syncing ?? Promise.resolve()).then(() => {
			if (this.syncError) return callback(this.syncError);
			fs.fsync(this.fd!, (error) => {
				if (error) return callback(error);
				const fd = this.fd!;
				this.fd = undefined;
				fs.close(fd, callback);
			});
		});
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
		if (this.fd === undefined) return callback(error);
		const fd = this.fd;
		this.fd = undefined;
		// Not while a background flush still uses the descriptor.
		void (this.syncing ?? Promise.resolve()).then(() => fs.close(fd, () => callback(error)));
	}

	digest(): string {
		return this.hash.digest('hex');
	}
}

/** Written bytes after which a background flush to disk starts (see HashingFileWriter). */
const SYNC_EVERY = 32 << 20;

/** `buffers` without their first `count` bytes. */
function skip(buffers: Buffer[], count: number): Buffer[] {
	const out: Buffer[] = [];
	for (const b of buffers) {
		if (count >= b.length) count -= b.length;
		else {
			out.push(count ? b.subarray(count) : b);
			count = 0;
		}
	}
	return out;
}

/** SHA-256 and size of a file, read as a stream (files may be many gigabytes). */
export async function hashFile(filePath: string, onProgress?: ProgressListener): Promise<HashedBytes> {
	const counter = new HashingCounter(onProgress);
	const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
	await pipeline(fs.createReadStream(filePath, { highWaterMark: 1 << 20 }), counter, sink);
	return { bytes: counter.bytes, sha256: counter.digest() };
}
