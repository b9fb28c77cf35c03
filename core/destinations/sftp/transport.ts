/**
 * The bytes of an SFTP upload, into the partial name: ssh2 with many WRITE requests in flight
 * (like OpenSSH's sftp), or, for large files, OpenSSH's own `sftp` client (sftp-openssh.ts, about
 * 1.5x faster), allowed only the host key ssh2 verified. The local file is hashed in a worker
 * thread beside the transfer. verified-put.ts decides what to send and checks the result.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { BackupError } from '../../errors';
import { GrowingFile } from '../../pipeline/growing-file';
import { hashFile } from '../../pipeline/hashing';
import { partialName, type TransferOptions } from '../destination';
import type { PartialUpload, SentFile } from '../driver';
import { sha256Of } from '../stream-guard';
import { abortError, DigestingMeter, hashFileInWorker, type LocalDigest } from '../verification';
import { loginOf, type SftpContext } from './context';
import { opensshError } from './errors';
import { PRIVATE_FILE, type SftpSession } from './session';
import {
	findOpensshClient,
	opensshUpload,
	OpensshFailure,
	plainLoginValues,
	uploadCommand,
	type OpensshClient,
	type SpawnFunction,
} from './sftp-openssh';

/**
 * In 'auto' mode, files from this size go through the OpenSSH client: below it, the client's
 * own SSH handshake costs about what its speed saves.
 */
export const OPENSSH_MIN_BYTES = 8 * 1024 * 1024;

/** For tests: how the OpenSSH client is started (records argv, stops the child…). */
export interface SftpHooks {
	spawn?: SpawnFunction;
}

/** One send: the local file from `offset` into the absolute partial path on the server. */
interface Send {
	localFile: string;
	localSize: number;
	partial: string;
	offset: number;
	options: TransferOptions;
}

/** An upload of `localFile` to `rel` under its partial name, for verified-put. */
export async function beginSftpUpload(
	context: SftpContext,
	hooks: SftpHooks,
	session: SftpSession,
	rel: string,
	localFile: string,
	localSize: number,
): Promise<PartialUpload> {
	const target = session.abs(rel);
	const partial = session.abs(partialName(rel));
	const existing = await session.stat(partial);
	// A partial an earlier attempt (or an older version) left keeps its mode on resume: private now.
	if (existing) await session.makePrivate(partial);
	return {
		resumable: existing?.size ?? 0,
		send: async (offset, options): Promise<SentFile> => ({
			digest: await transfer(context, hooks, session, { localFile, localSize, partial, offset, options }),
			from: offset,
		}),
		stat: async () => ({
			size: (await session.stat(partial))?.size ?? -1,
			sha256: await session.sha256(context, partial),
		}),
		readBack: () => sha256Of(session.readStream(partial), `${context.describe()}/${rel}`, context.timeoutMs),
		commit: async () => {
			// Whatever made the file (a server that ignored the open mode), it is private under its final name.
			await session.makePrivate(partial);
			await session.renameOver(partial, target);
			const final = await session.stat(target);
			return { modifiedAt: final?.mtime ? new Date(final.mtime * 1000) : undefined };
		},
		discard: () => session.unlink(partial),
	};
}

/** Sends through OpenSSH's client or ssh2; the digest is of the whole local file. */
async function transfer(
	context: SftpContext,
	hooks: SftpHooks,
	session: SftpSession,
	send: Send,
): Promise<LocalDigest> {
	const client = opensshFor(context, send);
	if (!client) return ssh2Upload(context, session, send);
	try {
		return await uploadWithOpenssh(context, hooks, client, session, send);
	} catch (error) {
		if (!(error instanceof OpensshFailure)) throw error;
		if ((context.config.transport ?? 'auto') === 'auto' && (error.kind === 'auth' || error.kind === 'unreachable')) {
			// ssh2 logged in a moment ago with the same settings, so this client cannot (a key
			// format it does not read, a per-user connection limit): stay on ssh2 here.
			context.opensshUnusable = error.stderr;
			return ssh2Upload(context, session, send);
		}
		throw await opensshError(context, session, error, send.partial);
	}
}

/** The OpenSSH client when this send should use it; throws when 'openssh' is demanded but missing. */
function opensshFor(context: SftpContext, { localFile, localSize, partial, offset }: Send): OpensshClient | undefined {
	const { config } = context;
	const transport = config.transport ?? 'auto';
	if (transport === 'ssh2' || (offset > 0 && offset >= localSize)) return undefined;
	if (transport === 'auto' && (context.opensshUnusable !== undefined || localSize - offset < OPENSSH_MIN_BYTES))
		return undefined;
	const client = findOpensshClient();
	if (typeof client === 'string') {
		if (transport === 'auto') return undefined;
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`Cannot upload to ${context.describe()} with the OpenSSH client: ${client}`,
			'Install the OpenSSH client (openssh-client 8.4 or later), or set the SFTP transport to auto or ssh2.',
		);
	}
	// Names the batch syntax cannot carry (newlines, backslashes, very long) and unusual
	// user or host names go over ssh2, whatever the mode: same result, only slower.
	if (
		!partial.startsWith('/') ||
		!uploadCommand(localFile, partial, offset > 0) ||
		!plainLoginValues(config.host, config.username)
	)
		return undefined;
	return client;
}

/**
 * Below this size a file is hashed on the main thread: starting a worker costs more (tens of ms
 * in n8n, hundreds under a test runner's loader on a loaded machine) than hashing a few MiB.
 */
const WORKER_HASH_MIN_BYTES = 4 * 1024 * 1024;

/** The whole local file's SHA-256, beside the transfer: in a worker thread for large files. */
function localDigest({ localFile, localSize }: Send): Promise<LocalDigest> {
	return localSize < WORKER_HASH_MIN_BYTES ? hashFile(localFile) : hashFileInWorker(localFile);
}

/** The whole local file's digest; fails when the file changed size meanwhile. */
async function hashed(hashing: Promise<LocalDigest>, { localFile, localSize }: Send): Promise<LocalDigest> {
	const digest = await hashing;
	if (digest.bytes !== localSize)
		throw new Error(`${localFile} changed while it was uploaded (${localSize} bytes expected, ${digest.bytes} hashed)`);
	return digest;
}

/** The OpenSSH client uploads; the local file is hashed in a worker meanwhile. */
async function uploadWithOpenssh(
	context: SftpContext,
	hooks: SftpHooks,
	client: OpensshClient,
	session: SftpSession,
	send: Send,
): Promise<LocalDigest> {
	const { config } = context;
	const hashing = localDigest(send);
	hashing.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
	// `sftp put` creates the file with the LOCAL file's mode (a dump is often 0644); on an
	// existing file it truncates and keeps the mode. So the partial is created private first,
	// and is never readable by others, not even while it is being written.
	if (send.offset === 0) await session.writeSmall(send.partial, Buffer.alloc(0), 'w');
	const started = Date.now();
	const onProgress = send.options.onProgress;
	const run = opensshUpload(client, {
		...loginOf(config),
		hostKey: session.hostKey,
		localFile: send.localFile,
		remotePath: send.partial,
		resume: send.offset > 0,
		stallTimeoutMs: context.timeoutMs,
		keepaliveIntervalMs: config.keepaliveIntervalMs ?? 10_000,
		remoteSize: async () => (await session.stat(send.partial))?.size,
		onProgress: onProgress && ((bytes) => onProgress({ bytes, elapsedMs: Date.now() - started })),
		signal: send.options.signal,
		spawn: hooks.spawn,
	});
	await run.catch(async (error: unknown) => {
		// The client failed before writing a byte (refused host key, login): the empty partial
		// made above is ours only, so it goes; anything longer stays for a resume. Bounded: after
		// a cut connection the session may never answer, and the failure must still surface.
		if (send.offset === 0) {
			const removeEmpty = async () => {
				if ((await session.stat(send.partial))?.size === 0) await session.unlink(send.partial);
			};
			let timer: NodeJS.Timeout | undefined;
			const giveUp = new Promise<void>((resolve) => {
				timer = setTimeout(resolve, Math.min(context.timeoutMs, 10_000));
				timer.unref();
			});
			await Promise.race([removeEmpty().catch(() => undefined), giveUp]);
			clearTimeout(timer);
		}
		throw error;
	});
	return hashed(hashing, send);
}

/**
 * Streams the local file from `offset` into the remote partial with many WRITE requests in
 * flight, while a worker thread hashes the whole local file (the resumed prefix too), so the
 * digest covers what the remote file should be.
 */
async function ssh2Upload(context: SftpContext, session: SftpSession, send: Send): Promise<LocalDigest> {
	const hashing = localDigest(send);
	hashing.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
	await ssh2Write(context, session, send);
	return hashed(hashing, send);
}

/** Writes the local file (or, with `growing`, as much of it as its writer has written) into the partial. */
async function ssh2Write(context: SftpContext, session: SftpSession, send: Send, growing?: GrowingFile): Promise<void> {
	const { sftp } = session;
	const file = await fsp.open(send.localFile, 'r');
	try {
		const flags = send.offset > 0 ? 'r+' : 'w';
		const remote = await session.call<Buffer>((cb) => sftp.open(send.partial, flags, { mode: PRIVATE_FILE }, cb));
		try {
			await pipelinedWrites(context, session, file, remote, send, growing);
			await session.call((cb) => sftp.ext_openssh_fsync(remote, cb)).catch(() => undefined);
		} finally {
			if (!session.closed) await session.call((cb) => sftp.close(remote, cb)).catch(() => undefined);
		}
	} finally {
		await file.close();
	}
}

/**
 * Sends a file that is still being written into the partial name of `rel`, following its
 * writer until it ends; never renames it. A later put of the same path finds the partial,
 * proves the whole remote copy by its SHA-256 and only then gives it its final name
 * (verified-put.ts), or sends it again. Rejects when the writer failed.
 */
export async function sendGrowingSsh2(
	context: SftpContext,
	session: SftpSession,
	rel: string,
	growing: GrowingFile,
	signal?: AbortSignal,
): Promise<void> {
	// The file exists once its writer reported a first write or its end.
	while (growing.written === 0 && !growing.ended) await growing.changed();
	if (growing.failed !== undefined) throw growing.failed;
	const partial = session.abs(partialName(rel));
	await ssh2Write(
		context,
		session,
		{ localFile: growing.file, localSize: growing.final ?? Infinity, partial, offset: 0, options: { signal } },
		growing,
	);
	if (growing.failed !== undefined) throw growing.failed;
}

/**
 * Up to `concurrency` WRITE requests of 255 KiB in flight (memory: concurrency x chunk); a
 * watchdog ends a transfer on which no request completes for the timeout. With `growing`, the
 * file is sent as its writer writes it (whole chunks while it grows), until it ends; time spent
 * waiting for the writer is not a stall.
 */
function pipelinedWrites(
	context: SftpContext,
	session: SftpSession,
	file: FileHandle,
	remote: Buffer,
	{ localFile, localSize, partial, offset, options }: Send,
	growing?: GrowingFile,
): Promise<void> {
	const { sftp } = session;
	const timeoutMs = context.timeoutMs;
	const meter = new DigestingMeter(options.onProgress, offset, 2000, false, false);
	const chunkSize = 255 * 1024; // OpenSSH's maximum write length (limits@openssh.com)
	const concurrency = context.config.concurrency ?? 16;
	return new Promise<void>((resolve, reject) => {
		let readPosition = offset;
		let inFlight = 0;
		let reading = false;
		let failed = false;
		let waitingForWriter = false;
		let lastProgress = Date.now();
		/** Chunk buffers whose write was answered: at most `concurrency` are ever allocated (memory flat). */
		const spare: Buffer[] = [];
		/** Where the file ends; unknown (Infinity) while its writer goes on. */
		const end = () => (growing ? (growing.final ?? Infinity) : localSize);
		/** How far it can be read now: to its end, or whole chunks of what the writer wrote. */
		const readable = () =>
			!growing || growing.final !== undefined
				? end()
				: readPosition + Math.floor((growing.written - readPosition) / chunkSize) * chunkSize;
		const watchdog = setInterval(
			() => {
				// Waiting for the writer (a dump between two tables) is not a stalled transfer.
				if (waitingForWriter && inFlight === 0) lastProgress = Date.now();
				if (Date.now() - lastProgress > timeoutMs) {
					finish(
						new BackupError(
							'TIMEOUT',
							`No progress for ${Math.round(timeoutMs / 1000)} s uploading to ${context.describe()}`,
							'The server or network stalled; run again (the upload resumes).',
						),
					);
					session.client.end();
				}
			},
			Math.min(5000, timeoutMs),
		);
		const onAbort = () => finish(abortError(partial));
		options.signal?.addEventListener('abort', onAbort);
		const finish = (error?: Error) => {
			if (failed) return;
			if (error) failed = true;
			if (!error && (inFlight > 0 || readPosition < end())) return;
			clearInterval(watchdog);
			options.signal?.removeEventListener('abort', onAbort);
			if (error) reject(error);
			else resolve();
		};
		const pump = async () => {
			if (reading) return;
			reading = true;
			try {
				if (growing?.failed !== undefined) throw growing.failed;
				while (!failed && inFlight < concurrency && readPosition < readable()) {
					const length = Math.min(chunkSize, readable() - readPosition);
					const buffer = spare.pop()?.subarray(0, length) ?? Buffer.allocUnsafe(chunkSize).subarray(0, length);
					const { bytesRead } = await file.read(buffer, 0, length, readPosition);
					if (bytesRead !== length) throw new Error(`${localFile} changed size while uploading`);
					meter.update(buffer);
					const position = readPosition;
					readPosition += length;
					inFlight++;
					sftp.write(remote, buffer, 0, length, position, (error) => {
						// Answered: ssh2 copied it into its packet long ago, so the buffer serves the next read.
						spare.push(Buffer.from(buffer.buffer, buffer.byteOffset, chunkSize));
						inFlight--;
						lastProgress = Date.now();
						if (error) return finish(error);
						if (readPosition >= end()) finish();
						else void pump();
					});
				}
				if (readPosition >= end()) finish();
				else if (growing && !failed && readPosition >= readable() && !waitingForWriter) {
					waitingForWriter = true;
					void growing.changed().then(() => {
						waitingForWriter = false;
						void pump();
					});
				}
			} catch (error) {
				finish(error as Error);
			} finally {
				reading = false;
			}
		};
		if (options.signal?.aborted) return onAbort();
		void pump();
	});
}
