/**
 * The local half of every `get`: stream into a temporary name next to the target, hash while
 * writing, fsync, check the size, rename. Shared by all destinations.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors';
import type { GetResult, TransferOptions } from './destination';
import { DigestingMeter } from './verification';

export async function downloadToLocal(
	openSource: () => Readable | Promise<Readable>,
	localFile: string,
	expectedBytes: number | undefined,
	options: TransferOptions = {},
): Promise<GetResult> {
	const started = Date.now();
	await fsp.mkdir(path.dirname(localFile), { recursive: true });
	const temp = path.join(
		path.dirname(localFile),
		`.${path.basename(localFile)}.${randomBytes(4).toString('hex')}.download`,
	);
	const meter = new DigestingMeter(options.onProgress);
	try {
		await pipeline(
			await openSource(),
			meter,
			createWriteStream(temp, { flags: 'wx', mode: 0o640, highWaterMark: 1 << 20 }),
			{ signal: options.signal },
		);
		const handle = await fsp.open(temp, 'r');
		try {
			await handle.sync();
		} finally {
			await handle.close();
		}
		const digest = meter.digest();
		if (expectedBytes !== undefined && digest.bytes !== expectedBytes) {
			throw new BackupError(
				'TRANSFER_FAILED',
				`Download to ${localFile} got ${digest.bytes} bytes, expected ${expectedBytes}`,
				'The connection ended early; run the download again.',
			);
		}
		await fsp.rename(temp, localFile);
		return { localFile, bytes: digest.bytes, sha256: digest.sha256, durationMs: Date.now() - started };
	} catch (error) {
		await fsp.rm(temp, { force: true });
		throw error;
	}
}
