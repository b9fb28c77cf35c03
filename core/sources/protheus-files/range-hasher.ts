import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of files whose bytes lie in ranges of shared buffers (the tar batches of
 * archive-writer), computed on a worker thread so hashing runs beside reading and packing
 * instead of after it (Node's main thread was the bottleneck of a full backup).
 *
 * Ranges are a flat list of [fileId, start, end, last] quadruples into one buffer; a file
 * may span several buffers, submitted in order. `hash` resolves, in submission order, with
 * the finished files' [fileId, sha256] pairs once the buffer was read, after which the
 * caller may refill it.
 */
export interface RangeHasher {
	hash(buffer: Buffer, ranges: number[]): Promise<Array<[number, string]>>;
	close(): Promise<void>;
}

/** Hashing on the calling thread: for small archives, where starting a worker costs more than it saves. */
export class InlineHasher implements RangeHasher {
	private readonly open = new Map<number, Hash>();

	hash(buffer: Buffer, ranges: number[]): Promise<Array<[number, string]>> {
		return Promise.resolve(hashRanges(this.open, buffer, ranges, createHash));
	}

	async close(): Promise<void> {
		this.open.clear();
	}
}

/** The same loop runs in the worker (as source text) and inline, so both hash alike. */
/* istanbul ignore next: its source text is the worker's code, and must stay free of coverage counters */
function hashRanges(
	open: Map<number, Hash>,
	buffer: Buffer,
	ranges: number[],
	newHash: (algorithm: string) => Hash,
): Array<[number, string]> {
	const digests: Array<[number, string]> = [];
	for (let i = 0; i < ranges.length; i += 4) {
		const id = ranges[i];
		let hash = open.get(id);
		if (!hash) {
			hash = newHash('sha256');
			open.set(id, hash);
		}
		hash.update(buffer.subarray(ranges[i + 1], ranges[i + 2]));
		if (ranges[i + 3]) {
			digests.push([id, hash.digest('hex')]);
			open.delete(id);
		}
	}
	return digests;
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashRanges = ${hashRanges.toString()};
const open = new Map();
const buffers = [];
parentPort.on('message', ({ slot, buffer, ranges }) => {
	if (buffer) buffers[slot] = Buffer.from(buffer);
	parentPort.postMessage(hashRanges(open, buffers[slot], ranges, createHash));
});
`;

/**
 * Hashing on a worker thread. Buffers must be backed by a SharedArrayBuffer (the worker reads
 * them in place, no copy). A worker that fails rejects every pending and later `hash`.
 */
export class WorkerHasher implements RangeHasher {
	private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
	private readonly waiting: Array<{
		resolve: (digests: Array<[number, string]>) => void;
		reject: (error: Error) => void;
	}> = [];
	private readonly slots = new Map<ArrayBufferLike, number>();
	private failure?: Error;

	constructor() {
		this.worker.on('message', (digests: Array<[number, string]>) => this.waiting.shift()?.resolve(digests));
		this.worker.on('error', (error) => this.fail(error));
		this.worker.on('exit', (code) => this.fail(new Error(`the hashing thread exited (code ${code})`)));
	}

	hash(buffer: Buffer, ranges: number[]): Promise<Array<[number, string]>> {
		if (this.failure) return Promise.reject(this.failure);
		if (!(buffer.buffer instanceof SharedArrayBuffer) || buffer.byteOffset !== 0)
			return Promise.reject(new Error('WorkerHasher needs buffers that start a SharedArrayBuffer'));
		// Each buffer is shared with the worker once (sharing costs more than the message itself).
		let slot = this.slots.get(buffer.buffer);
		const first = slot === undefined;
		if (slot === undefined) this.slots.set(buffer.buffer, (slot = this.slots.size));
		return new Promise((resolve, reject) => {
			this.waiting.push({ resolve, reject });
			this.worker.postMessage({ slot, buffer: first ? buffer.buffer : undefined, ranges });
		});
	}

	async close(): Promise<void> {
		this.fail(new Error('the hashing thread was closed'));
		await this.worker.terminate();
	}

	private fail(error: Error) {
		this.failure ??= error;
		for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
	}
}
