/**
 * The safe download, once for every backend: find the file, stream it into a temporary name
 * next to the target while hashing, fsync, check the size (and the SHA-256 the service
 * stores, where it stores one), and only then rename. Small files (locks, manifests) are read
 * into memory by the same way, within a byte limit.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors';
import { normalizeRemotePath, type GetResult, type TransferOptions } from './destination';
import type { FoundFile, TransferDriver } from './driver';
import { stallError, stallGuard, StreamGuard } from './stream-guard';
import { DigestingMeter } from './verification';

export async function verifiedGet<F extends FoundFile>(
	driver: TransferDriver<F>,
	remotePath: string,
	localFile: string,
	options: TransferOptions = {},
): Promise<GetResult> {
	const rel = normalizeRemotePath(remotePath);
	const where = `${driver.describe()}/${rel}`;
	try {
		const file = await driver.statFile(rel);
		if (!file)
			throw new BackupError('SET_NOT_FOUND', `No file ${where}`, 'List the destination to see which sets it holds.');
		return await downloadToLocal(
			() => driver.openRead(rel, file, options.signal),
			localFile,
			file,
			where,
			() => stallGuard(where, driver.stallTimeoutMs),
			options,
		);
	} catch (error) {
		throw await driver.toBackupError(error, 'download', rel);
	}
}

/**
 * A small file (a lock, a manifest) in memory; null when absent; refuses one over `maxBytes`,
 * counted on the bytes received: a declared size can be wrong (procfs, a stale share) or a lie.
 */
export async function readSmall<F extends FoundFile>(
	driver: TransferDriver<F>,
	remotePath: string,
	maxBytes: number,
): Promise<Buffer | null> {
	const rel = normalizeRemotePath(remotePath);
	const where = `${driver.describe()}/${rel}`;
	try {
		const file = await driver.statFile(rel);
		if (!file) return null;
		if (file.size > maxBytes) throw tooBig(where, file.size, maxBytes);
		const chunks: Buffer[] = [];
		const source = await driver.openRead(rel, file);
		// Made when the pipeline is, so its error always has a listener.
		const guard = new StreamGuard({
			maxBytes,
			tooBig: (bytes) => tooBig(where, bytes, maxBytes, 'at least '),
			stallMs: driver.stallTimeoutMs,
			stalled: () => stallError(where, driver.stallTimeoutMs ?? 0),
		});
		await pipeline(source, guard, async (bytes: AsyncIterable<Buffer>) => {
			for await (const chunk of bytes) chunks.push(chunk);
		});
		return Buffer.concat(chunks);
	} catch (error) {
		throw await driver.toBackupError(error, 'read', rel);
	}
}

function tooBig(where: string, size: number, maxBytes: number, atLeast = ''): BackupError {
	return new BackupError(
		'INVALID_INPUT',
		`${where} is ${atLeast}${size} bytes, more than the ${maxBytes} expected`,
		'This is not the small file expected here (lock or manifest); check the destination.',
	);
}

/** Flushes a file's bytes to disk, so what is renamed into place survives a crash. */
export async function fsyncFile(file: string): Promise<void> {
	const handle = await fsp.open(file, 'r');
	try {
		await handle.sync();
	} finally {
		await handle.close();
	}
}

/** The local half of every download: temporary name, hash while writing, fsync, checks, rename. */
async function downloadToLocal(
	openSource: () => Promise<Readable>,
	localFile: string,
	expected: FoundFile,
	where: string,
	guard: () => StreamGuard,
	options: TransferOptions,
): Promise<GetResult> {
	const started = Date.now();
	// What we download holds the company's data: folders we create 0700, files 0600 (issue 12).
	await fsp.mkdir(path.dirname(localFile), { recursive: true, mode: 0o700 });
	const temp = path.join(
		path.dirname(localFile),
		`.${path.basename(localFile)}.${randomBytes(4).toString('hex')}.download`,
	);
	const meter = new DigestingMeter(options.onProgress);
	try {
		const source = await openSource();
		await pipeline(
			source,
			guard(),
			meter,
			createWriteStream(temp, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }),
			{ signal: options.signal },
		);
		await fsyncFile(temp);
		const digest = meter.digest();
		if (digest.bytes !== expected.size) {
			throw new BackupError(
				'TRANSFER_FAILED',
				`Download of ${where} to ${localFile} got ${digest.bytes} bytes, expected ${expected.size}`,
				'The connection ended early; run the download again.',
			);
		}
		if (expected.sha256 && expected.sha256.toLowerCase() !== digest.sha256) {
			throw new BackupError(
				'VERIFY_FAILED',
				`Downloaded ${where} has SHA-256 ${digest.sha256}, the destination reports ${expected.sha256}`,
				'Download again; if it repeats, the copy on the destination is damaged.',
			);
		}
		await fsp.rename(temp, localFile);
		return { localFile, bytes: digest.bytes, sha256: digest.sha256, durationMs: Date.now() - started };
	} catch (error) {
		await fsp.rm(temp, { force: true });
		throw error;
	}
}
