/**
 * The bytes of an FTP upload: STOR into the partial name (APPE to resume), the local file
 * hashed by a worker thread beside the transfer; the partial's size and server-side hash for
 * verified-put; and, after a broken data connection, the question whether the disk is full.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { FTPError, type Client } from 'basic-ftp';
import { partialName, type TransferOptions } from '../destination';
import type { PartialUpload } from '../driver';
import { sha256Of } from '../stream-guard';
import { abortError, DigestingMeter, hashFileInWorker, type LocalDigest } from '../verification';
import type { FtpConnection } from './session';

/** An upload of `localFile` to `rel` under its partial name, for verified-put. */
export async function beginFtpUpload(
	connection: FtpConnection,
	client: Client,
	rel: string,
	localFile: string,
): Promise<PartialUpload> {
	const partial = connection.abs(partialName(rel));
	return {
		resumable: (await connection.size(client, partial)) ?? 0,
		send: async (offset, options) => ({
			digest: await upload(connection, client, localFile, partial, offset, options),
			from: offset,
		}),
		stat: async () => ({
			size: (await connection.size(client, partial)) ?? -1,
			...(await connection.remoteHash(client, partial)),
		}),
		readBack: () => sha256Of(connection.readStream(client, partial), partial, connection.stallTimeoutMs),
		commit: async () => {
			await connection.makePrivate(client, partial);
			await connection.renameOver(client, partial, connection.abs(rel));
		},
		discard: async () => {
			await client.remove(partial, true);
		},
	};
}

/**
 * Sends the local file from `offset` (APPE when resuming) while a worker thread hashes the
 * whole file beside it, so hashing does not slow the transfer. Returns the file's digest.
 */
async function upload(
	connection: FtpConnection,
	client: Client,
	localFile: string,
	partial: string,
	offset: number,
	options: TransferOptions,
): Promise<LocalDigest> {
	// MD5 only for a server that can give MD5 but not SHA-256.
	const hashing = hashFileInWorker(localFile, { md5: connection.md5Only() });
	hashing.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
	const meter = new DigestingMeter(options.onProgress, offset, 2000, false, false);
	const source = createReadStream(localFile, { start: offset, highWaterMark: 1 << 20 });
	source.on('error', (error) => meter.destroy(error));
	const sent = source.pipe(meter);
	const onAbort = () => {
		source.destroy(abortError(partial));
		client.close();
	};
	if (options.signal?.aborted) onAbort();
	options.signal?.addEventListener('abort', onAbort);
	try {
		if (offset > 0) await client.appendFrom(sent, partial);
		else await client.uploadFrom(sent, partial);
	} finally {
		options.signal?.removeEventListener('abort', onAbort);
	}
	if (options.signal?.aborted) throw abortError(partial);
	connection.localWork++;
	const digest = await hashing.finally(() => connection.localWork--);
	if (offset + meter.bytes !== digest.bytes)
		throw new Error(
			`${localFile} changed while it was uploaded (${offset + meter.bytes} bytes sent, ${digest.bytes} hashed)`,
		);
	return digest;
}

/**
 * After an upload's data connection broke: was it a full disk? A server that cannot write
 * often just drops the data connection (vsftpd), and basic-ftp then reports that instead of
 * the 451 reply. A small probe write tells: it gets the 451/452/552 a full disk gives.
 */
export async function diskIsFull(connection: FtpConnection, relFolder: string): Promise<boolean> {
	const probe = connection.abs(
		`${relFolder ? `${relFolder}/` : ''}.totvs-space-probe-${randomBytes(4).toString('hex')}`,
	);
	try {
		const client = await connection.connect();
		try {
			await client.uploadFrom(Readable.from([Buffer.alloc(64 * 1024)]), probe);
			return false;
		} catch (error) {
			return error instanceof FTPError && (error.code === 451 || error.code === 452 || error.code === 552);
		} finally {
			await client.remove(probe, true).catch(() => undefined);
		}
	} catch {
		return false;
	}
}
