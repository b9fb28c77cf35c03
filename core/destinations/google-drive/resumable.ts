/**
 * Drive's resumable upload protocol, done here chunk by chunk because the client library's
 * media upload cannot resume: POST the metadata for a session URI, PUT chunks (a multiple of
 * 256 KiB) with Content-Range; 308 + Range says how much the server has. After a cut or a
 * 5xx/429 the session is asked what it kept and the upload continues from there; a session is
 * kept for a later put() of the same file on this destination object. Drive creates the file
 * only when the last byte arrives, under the partial name.
 */
import { promises as fsp } from 'node:fs';
import { partialName, baseName, type TransferOptions } from '../destination';
import type { PartialUpload, SentFile } from '../driver';
import { backoffDelay, sleep, withRetries } from '../retry';
import { sha256Of } from '../stream-guard';
import { abortError, DigestingMeter } from '../verification';
import type { DriveContext } from './context';
import { driveErrorFrom, DriveHttpError, isTransient } from './errors';
import { FILE_FIELDS, fileInfo, type DriveFile, type DriveFiles } from './files';

type SessionAnswer = { done: DriveFile } | { next: number } | { expired: true };

export class ResumableUploads {
	/** Upload sessions kept for a later put() of the same file (key: path, size, mtime). */
	private readonly sessions = new Map<string, string>();

	constructor(
		private readonly context: DriveContext,
		private readonly files: DriveFiles,
	) {}

	/** An upload of `localFile` to `rel` (in the folder `parentId`) under its partial name, for verified-put. */
	async begin(rel: string, parentId: string, localFile: string, localSize: number): Promise<PartialUpload> {
		const { mtimeMs } = await fsp.stat(localFile);
		const key = `${rel}|${localSize}|${mtimeMs}`;
		const metadata: DriveFile = { name: baseName(partialName(rel)), parents: [parentId] };
		// What a session kept from an interrupted put() of this same file: bytes, or the whole file.
		const keptUri = this.sessions.get(key);
		const kept = keptUri ? await this.sessionOffset(keptUri, localSize).catch(() => undefined) : undefined;
		let file: DriveFile | undefined = typeof kept === 'object' ? kept : undefined;
		return {
			resumable: kept === undefined ? 0 : typeof kept === 'object' ? localSize : kept,
			send: async (offset, options) => {
				const sessionUri = offset > 0 ? keptUri : undefined;
				const sent = await this.upload(key, sessionUri, file, metadata, localFile, localSize, offset, options);
				file = sent.file;
				return sent;
			},
			stat: async () => (file ? fileInfo(file) : { size: -1 }),
			readBack: async (options) =>
				sha256Of(await this.files.download(file!.id!, options.signal), rel, this.context.timeoutMs),
			commit: async () => {
				// Rename into place, then drop older files of that name (Drive allows duplicates).
				const older = await this.files.childrenNamed(parentId, baseName(rel));
				await this.files.rename(file!.id!, baseName(rel));
				for (const old of older) if (old.id && old.id !== file!.id) await this.files.deleteById(old.id);
				return { modifiedAt: fileInfo(file!).modifiedAt };
			},
			discard: async () => {
				this.sessions.delete(key);
				if (file?.id) await this.files.deleteById(file.id);
				file = undefined;
			},
		};
	}

	/**
	 * Sends the local file, continuing `sessionUri` from `offset` when given (a new session from
	 * byte 0 otherwise). One chunk is in memory at a time. Every local byte is hashed exactly
	 * once, in order, as it is first read (re-sent bytes were already hashed).
	 */
	private async upload(
		key: string,
		sessionUri: string | undefined,
		done: DriveFile | undefined,
		metadata: DriveFile,
		localFile: string,
		size: number,
		offset: number,
		options: TransferOptions,
	): Promise<SentFile & { file: DriveFile }> {
		const meter = new DigestingMeter(options.onProgress, 0, 2000, true);
		const handle = await fsp.open(localFile, 'r');
		let hashedUpTo = 0;
		const hashUpTo = async (end: number) => {
			while (hashedUpTo < end) {
				const buffer = Buffer.allocUnsafe(Math.min(1 << 20, end - hashedUpTo));
				const { bytesRead } = await handle.read(buffer, 0, buffer.length, hashedUpTo);
				if (bytesRead === 0) throw new Error(`${localFile} is shorter than when the upload started`);
				meter.update(buffer.subarray(0, bytesRead));
				hashedUpTo += bytesRead;
			}
		};
		try {
			if (done && offset >= size) {
				// An earlier attempt sent everything but stopped before the rename.
				this.sessions.delete(key);
				await hashUpTo(size);
				return { file: done, digest: meter.digest(), from: size };
			}
			if (!sessionUri) {
				offset = 0;
				sessionUri = await this.startSession(metadata, size, options.signal);
			}
			this.sessions.set(key, sessionUri);
			const from = offset;
			let failures = 0;
			for (;;) {
				if (options.signal?.aborted) throw abortError(localFile);
				const end = Math.min(size, offset + this.context.chunkBytes);
				const chunk = Buffer.allocUnsafe(end - offset);
				if (chunk.length) {
					const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
					if (bytesRead !== chunk.length) throw new Error(`${localFile} changed while uploading`);
				}
				// Hash the new part of this chunk (and any prefix a resumed session skipped).
				await hashUpTo(offset);
				if (end > hashedUpTo) {
					meter.update(chunk.subarray(hashedUpTo - offset));
					hashedUpTo = end;
				}
				let answer: SessionAnswer;
				try {
					answer = await this.putChunk(sessionUri, chunk, offset, size, options.signal);
					failures = 0;
				} catch (error) {
					if (!isTransient(error) || options.signal?.aborted || ++failures > this.context.maxRetries) throw error;
					await sleep(backoffDelay(failures));
					// Ask the session what it kept, then go on from there.
					const status = await this.sessionOffset(sessionUri, size).catch((statusError) =>
						isTransient(statusError) ? offset : Promise.reject(statusError),
					);
					if (status === undefined) answer = { expired: true };
					else if (typeof status === 'object') answer = { done: status };
					else answer = { next: status };
				}
				if ('done' in answer) {
					this.sessions.delete(key);
					await hashUpTo(size);
					return { file: answer.done, digest: meter.digest(), from };
				}
				if ('expired' in answer) {
					// Sessions last about a week; a 404/410 means start over from byte 0.
					sessionUri = await this.startSession(metadata, size, options.signal);
					this.sessions.set(key, sessionUri);
					offset = 0;
					continue;
				}
				offset = answer.next;
			}
		} finally {
			await handle.close();
		}
	}

	async startSession(metadata: DriveFile, size: number, signal?: AbortSignal): Promise<string> {
		return withRetries(
			async () => {
				const url = `${this.context.apiBase}/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true&fields=${encodeURIComponent(FILE_FIELDS)}`;
				const response = await fetch(url, {
					method: 'POST',
					headers: {
						authorization: await this.context.authHeader(),
						'content-type': 'application/json; charset=UTF-8',
						'x-upload-content-type': 'application/octet-stream',
						'x-upload-content-length': String(size),
					},
					body: JSON.stringify(metadata),
					signal: AbortSignal.any([AbortSignal.timeout(this.context.timeoutMs), ...(signal ? [signal] : [])]),
				});
				const body = await response.json().catch(() => undefined);
				if (!response.ok) throw driveErrorFrom(response.status, body);
				const location = response.headers.get('location');
				if (!location)
					throw new DriveHttpError(response.status, undefined, 'resumable session answer had no Location header');
				return location;
			},
			isTransient,
			{ maxRetries: this.context.maxRetries, signal },
		);
	}

	/** Sends one chunk. 308 -> next offset from Range; 200/201 -> the file; 404/410 -> expired. */
	async putChunk(
		sessionUri: string,
		chunk: Buffer,
		offset: number,
		size: number,
		signal?: AbortSignal,
	): Promise<SessionAnswer> {
		const range = chunk.length ? `bytes ${offset}-${offset + chunk.length - 1}/${size}` : `bytes */${size}`;
		const response = await fetch(sessionUri, {
			method: 'PUT',
			headers: {
				authorization: await this.context.authHeader(),
				'content-range': range,
				'content-length': String(chunk.length),
			},
			body: chunk,
			signal: AbortSignal.any([
				AbortSignal.timeout(Math.max(this.context.timeoutMs, 300_000)),
				...(signal ? [signal] : []),
			]),
		});
		return this.readSessionAnswer(response);
	}

	private async readSessionAnswer(response: Response): Promise<SessionAnswer> {
		if (response.status === 308) {
			await response.arrayBuffer();
			const range = /bytes=0-(\d+)/.exec(response.headers.get('range') ?? '');
			return { next: range ? Number(range[1]) + 1 : 0 };
		}
		const body = await response.json().catch(() => undefined);
		if (response.status === 200 || response.status === 201) return { done: body as DriveFile };
		if (response.status === 404 || response.status === 410) return { expired: true };
		throw driveErrorFrom(response.status, body);
	}

	/** Status query (`Content-Range: bytes *\/size`): bytes kept, the finished file, or undefined if expired. */
	private async sessionOffset(sessionUri: string, size: number): Promise<number | DriveFile | undefined> {
		const response = await fetch(sessionUri, {
			method: 'PUT',
			headers: {
				authorization: await this.context.authHeader(),
				'content-range': `bytes */${size}`,
				'content-length': '0',
			},
			signal: AbortSignal.timeout(this.context.timeoutMs),
		});
		const answer = await this.readSessionAnswer(response);
		if ('done' in answer) return answer.done;
		if ('expired' in answer) return undefined;
		return answer.next;
	}

	/** A small file in one request (a lock), under its final name; the file Drive made. */
	async uploadSmall(metadata: DriveFile, data: Buffer): Promise<DriveFile> {
		// A one-chunk resumable upload (the client's media upload ignores a custom rootUrl).
		const session = await this.startSession(metadata, data.length);
		const answer = await withRetries(() => this.putChunk(session, data, 0, data.length), isTransient, {
			maxRetries: this.context.maxRetries,
		});
		if (!('done' in answer))
			throw new DriveHttpError(500, undefined, `Drive did not finish the upload of ${metadata.name}`);
		return answer.done;
	}
}
