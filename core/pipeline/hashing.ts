import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
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
	options: { onProgress?: ProgressListener; progressIntervalMs?: number } = {},
): Promise<HashedBytes> {
	const counter = new HashingCounter(options.onProgress, options.progressIntervalMs);
	await pipeline(source, counter, createWriteStream(filePath, { flags: 'wx', mode: 0o640, highWaterMark: 1 << 20 }));
	// fsync through a second descriptor: it flushes the same file, and the stream stays simple.
	const file = await open(filePath, 'r');
	try {
		await file.sync();
	} finally {
		await file.close();
	}
	return { bytes: counter.bytes, sha256: counter.digest() };
}

/** SHA-256 and size of a file, read as a stream (files may be many gigabytes). */
export async function hashFile(filePath: string, onProgress?: ProgressListener): Promise<HashedBytes> {
	const counter = new HashingCounter(onProgress);
	const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
	await pipeline(createReadStream(filePath, { highWaterMark: 1 << 20 }), counter, sink);
	return { bytes: counter.bytes, sha256: counter.digest() };
}
