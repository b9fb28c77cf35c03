/**
 * Bounds on a stream of bytes from a destination, whatever the other side claims: at most
 * `maxBytes` (a small read must not take whatever a server sends into memory), and a byte at
 * least every `stallMs` (a server that stops sending while the connection stays up must not
 * hold a workflow forever). The bytes actually received count, never a declared size.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors';

export interface GuardLimits {
	/** Fails with `tooBig(bytes)` once more than this many bytes have passed. */
	maxBytes?: number;
	tooBig?: (bytes: number) => BackupError;
	/** Fails with `stalled()` when no byte passes for this long (while nothing waits downstream). */
	stallMs?: number;
	stalled?: () => BackupError;
}

/** The TIMEOUT of a read on which no byte arrived for `stallMs`. */
export function stallError(where: string, stallMs: number): BackupError {
	return new BackupError(
		'TIMEOUT',
		`No data for ${stallMs >= 1000 ? `${Math.round(stallMs / 1000)} s` : `${stallMs} ms`} while reading ${where}; the transfer was stopped`,
		'The server or the network stalled (a hung disk or process on the server, a firewall dropping the connection). Check the server, then run again.',
	);
}

/** A guard that fails a read of `where` after `stallMs` without a byte (none when undefined). */
export function stallGuard(where: string, stallMs: number | undefined): StreamGuard {
	return new StreamGuard({ stallMs, stalled: () => stallError(where, stallMs ?? 0) });
}

/** SHA-256 of what `source` gives (a read-back), under the stall limit; `where` names it in a TIMEOUT. */
export async function sha256Of(source: Readable, where: string, stallMs: number | undefined): Promise<string> {
	const hash = createHash('sha256');
	await pipeline(source, stallGuard(where, stallMs), async (bytes: AsyncIterable<Buffer>) => {
		for await (const chunk of bytes) hash.update(chunk);
	});
	return hash.digest('hex');
}

/** Make one right where it joins its pipeline: its timer may fail it, and the failure needs a listener. */
export class StreamGuard extends Transform {
	bytes = 0;
	private timer?: NodeJS.Timeout;
	private lastByte = Date.now();

	constructor(private readonly limits: GuardLimits) {
		super({ highWaterMark: 1 << 20 });
		const { stallMs } = limits;
		if (stallMs !== undefined && stallMs > 0) {
			this.timer = setInterval(() => this.checkStall(stallMs), Math.max(50, Math.min(1000, stallMs / 4)));
		}
	}

	private checkStall(stallMs: number): void {
		// Bytes waiting for a slow reader downstream are not the server's silence.
		if (this.readableLength > 0 || this.writableLength > 0) this.lastByte = Date.now();
		else if (Date.now() - this.lastByte >= stallMs) this.destroy(this.limits.stalled?.());
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.bytes += chunk.length;
		this.lastByte = Date.now();
		if (this.limits.maxBytes !== undefined && this.bytes > this.limits.maxBytes)
			return callback(this.limits.tooBig?.(this.bytes));
		callback(null, chunk);
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		clearInterval(this.timer);
		callback(error);
	}

	override _flush(callback: TransformCallback): void {
		clearInterval(this.timer);
		callback();
	}
}
