/**
 * What every destination does around the bytes: hash the local file while it is sent, compare
 * the remote copy with it, and turn a mismatch into a clear error. One piece for all backends.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { BackupError } from '../errors';
import type { ProgressListener } from '../pipeline/hashing';
import type { RemoteFileInfo, VerificationMethod } from './destination';

export interface LocalDigest {
	bytes: number;
	sha256: string;
	/** Only when asked for (Google Drive): MD5 costs as much CPU as the transfer on loopback. */
	md5?: string;
}

/**
 * Pass-through that counts, hashes (SHA-256, plus MD5 when `withMd5`: some services only give
 * MD5) and reports progress at most every `intervalMs`. Chunks are handed on, never kept.
 */
export class DigestingMeter extends Transform {
	private readonly sha256?: Hash;
	private readonly md5?: Hash;
	private readonly started = Date.now();
	private lastReport = 0;
	bytes = 0;

	constructor(
		private readonly onProgress?: ProgressListener,
		/** Bytes already on the other side (a resumed transfer) counted in progress. */
		private readonly offset = 0,
		private readonly intervalMs = 2000,
		withMd5 = false,
		/** false: only count and report progress (the hash is made elsewhere, e.g. hashFileInWorker). */
		hashing = true,
	) {
		super({ highWaterMark: 1 << 20 });
		if (hashing) this.sha256 = createHash('sha256');
		if (hashing && withMd5) this.md5 = createHash('md5');
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.update(chunk);
		callback(null, chunk);
	}

	/** For callers that feed bytes themselves (no stream). */
	update(chunk: Buffer): void {
		this.sha256?.update(chunk);
		this.md5?.update(chunk);
		this.bytes += chunk.length;
		const now = Date.now();
		if (this.onProgress && now - this.lastReport >= this.intervalMs) {
			this.lastReport = now;
			this.onProgress({ bytes: this.offset + this.bytes, elapsedMs: now - this.started });
		}
	}

	digest(): LocalDigest {
		return { bytes: this.bytes, sha256: this.sha256?.digest('hex') ?? '', md5: this.md5?.digest('hex') };
	}
}

/**
 * Compares what the destination reports with what was sent; returns the strongest check made.
 * Throws VERIFY_FAILED naming the file, both values and what to do.
 */
export function checkRemoteCopy(
	local: { bytes: number; sha256: string; md5?: string },
	remote: RemoteFileInfo,
	where: string,
): VerificationMethod {
	const fail = (what: string, expected: string | number, got: string | number) =>
		new BackupError(
			'VERIFY_FAILED',
			`The copy at ${where} does not match the local file: ${what} is ${got}, expected ${expected}`,
			"The upload was corrupted or changed on the way or on the server. Run the upload again; if it repeats, check the server's disk and any proxy or antivirus in between.",
		);
	if (remote.size !== local.bytes) throw fail('size', local.bytes, remote.size);
	if (remote.sha256) {
		if (remote.sha256.toLowerCase() !== local.sha256) throw fail('SHA-256', local.sha256, remote.sha256);
		return 'sha256';
	}
	if (remote.md5 && local.md5) {
		if (remote.md5.toLowerCase() !== local.md5) throw fail('MD5', local.md5, remote.md5);
		return 'md5';
	}
	return 'size';
}

export function abortError(where: string): BackupError {
	return new BackupError(
		'TRANSFER_FAILED',
		`Transfer of ${where} was cancelled`,
		'Run it again; it resumes or restarts safely.',
	);
}

/* A worker thread so hashing runs beside the transfer instead of in its way (plain JS, eval'd:
   no build step, works under ts-jest and in n8n alike). It reads the file on its own; the page
   cache makes that second read nearly free. */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const sha256 = createHash('sha256');
const md5 = workerData.md5 ? createHash('md5') : undefined;
const fd = fs.openSync(workerData.file, 'r');
const buffer = Buffer.allocUnsafe(1 << 20);
let bytes = 0;
try {
	for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, bytes)) > 0; bytes += n) {
		sha256.update(buffer.subarray(0, n));
		if (md5) md5.update(buffer.subarray(0, n));
	}
} finally {
	fs.closeSync(fd);
}
parentPort.postMessage({ bytes, sha256: sha256.digest('hex'), md5: md5 ? md5.digest('hex') : undefined });
`;

/** SHA-256 (and MD5 when asked) of a whole local file, computed in a worker thread. */
export function hashFileInWorker(file: string, { md5 = false } = {}): Promise<LocalDigest> {
	return new Promise((resolve, reject) => {
		const worker = new Worker(HASH_WORKER, { eval: true, workerData: { file, md5 } });
		worker.once('message', (digest: LocalDigest) => resolve(digest));
		worker.once('error', reject);
		worker.once('exit', (code) => {
			if (code !== 0) reject(new Error(`hashing ${file} stopped (worker exit ${code})`));
		});
	});
}
