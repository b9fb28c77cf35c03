/**
 * Google Drive (Drive API v3 through @googleapis/drive; the resumable upload protocol is done
 * here, chunk by chunk, because the client's media upload cannot resume).
 *
 * - Auth: a service account key (JWT bearer grant, optional domain-wide delegation `subject`)
 *   or an OAuth2 refresh token. Tokens are fetched here so the token URL can point at a test
 *   emulator (the client library hard-codes it for service accounts).
 * - Paths map to folders under `rootFolderId` (a folder in My Drive or in a shared drive):
 *   `<environment>/<backupId>/<file>`, one folder per environment and per set.
 * - Uploads: resumable sessions in chunks of a multiple of 256 KiB; after a cut or a 5xx/429 the
 *   session is asked how much it has (308 + Range) and continues from there; a session is kept
 *   for a later put() of the same file on this destination object. Drive creates the file only
 *   when the last byte arrives, under a partial name; it is renamed after its md5Checksum /
 *   sha256Checksum match, so a final name never holds an incomplete or unverified file.
 */
import { createSign } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import { auth as googleAuth, drive, type drive_v3 } from '@googleapis/drive';
import { BackupError } from '../../errors';
import {
	baseName,
	normalizeRemotePath,
	parentOf,
	partialName,
	type Destination,
	type GetResult,
	type GoogleDriveConfig,
	type PutOptions,
	type PutResult,
	type RemoteEntry,
	type RemoteFileInfo,
	type TransferOptions,
} from '../destination';
import { downloadToLocal } from '../local-download';
import { abortError, checkRemoteCopy, DigestingMeter, withRetries } from '../verification';

const FOLDER_MIME = 'application/vnd.google-apps.folder';
const CHUNK_UNIT = 256 * 1024;
const FILE_FIELDS = 'id,name,size,md5Checksum,sha256Checksum,modifiedTime,createdTime,mimeType';
/** Full Drive access: the scope every credential kind asks for (why not drive.file: see the OAuth2 credential). */
export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';

type DriveFile = drive_v3.Schema$File;

/** An HTTP answer from Drive that is not a success, with Google's error reason. */
export class DriveHttpError extends Error {
	constructor(
		readonly status: number,
		readonly reason: string | undefined,
		message: string,
	) {
		super(message);
		this.name = 'DriveHttpError';
	}
}

/** Reads Google's error body: { error: { code, message, errors: [{ reason }] } }. */
function driveErrorFrom(status: number, body: unknown): DriveHttpError {
	const error = (
		body as { error?: { message?: string; errors?: Array<{ reason?: string }>; status?: string } } | undefined
	)?.error;
	const reason = error?.errors?.[0]?.reason ?? error?.status;
	return new DriveHttpError(status, reason, error?.message ?? `HTTP ${status}`);
}

/** Errors worth retrying with backoff: 429, 5xx, rate limits, and network failures. */
function isTransient(error: unknown): boolean {
	if (error instanceof BackupError) return false;
	if (error instanceof DriveHttpError) {
		return (
			error.status === 429 ||
			error.status >= 500 ||
			(error.status === 403 && (error.reason === 'rateLimitExceeded' || error.reason === 'userRateLimitExceeded'))
		);
	}
	return true; // fetch failures: reset, refused, timeout
}

/** Converts a googleapis (gaxios) error to DriveHttpError so one classification serves all calls. */
function fromGaxios(error: unknown): unknown {
	const response = (error as { response?: { status?: number; data?: unknown } }).response;
	if (response?.status) return driveErrorFrom(response.status, response.data);
	return error;
}

function escapeQuery(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

function base64url(data: Buffer | string): string {
	return Buffer.from(data).toString('base64url');
}

export class GoogleDriveDestination implements Destination {
	readonly kind = 'google-drive' as const;
	readonly exclusiveCreate = 'tie-break' as const;
	private readonly api: drive_v3.Drive;
	private readonly oauth;
	private readonly apiBase: string;
	private readonly tokenUrl: string;
	private readonly chunkBytes: number;
	private readonly maxRetries: number;
	private readonly timeoutMs: number;
	/** Folder path (relative) -> id; '' is the root. */
	private readonly folderIds = new Map<string, string>();
	/** Upload sessions kept for a later put() of the same file (key: path, size, mtime). */
	private readonly sessions = new Map<string, string>();

	constructor(private readonly config: GoogleDriveConfig) {
		if (!config.rootFolderId?.trim()) {
			throw new BackupError(
				'INVALID_INPUT',
				'No Google Drive folder id given',
				'Open the folder in Google Drive and copy the id from its address (…/folders/<id>); for a shared drive, share it with the service account.',
			);
		}
		this.apiBase = (config.apiBaseUrl ?? 'https://www.googleapis.com').replace(/\/+$/, '');
		this.tokenUrl = config.tokenUrl ?? 'https://oauth2.googleapis.com/token';
		this.chunkBytes = Math.max(1, Math.round((config.chunkBytes ?? 16 * 1024 * 1024) / CHUNK_UNIT)) * CHUNK_UNIT;
		this.maxRetries = config.maxRetries ?? 6;
		this.timeoutMs = config.timeoutMs ?? 60_000;
		this.oauth = new googleAuth.OAuth2();
		this.oauth.refreshHandler = async () => this.fetchToken();
		// Node's own fetch: gaxios would otherwise load node-fetch with a dynamic import.
		this.api = drive({
			version: 'v3',
			auth: this.oauth,
			rootUrl: `${this.apiBase}/`,
			retry: false,
			timeout: this.timeoutMs,
			fetchImplementation: fetch,
		});
		this.folderIds.set('', config.rootFolderId.trim());
	}

	describe(): string {
		const who =
			this.config.auth.kind === 'serviceAccount'
				? (this.config.auth.subject ?? this.config.auth.clientEmail)
				: 'oauth2';
		const host = this.config.apiBaseUrl ? ` via ${this.apiBase}` : '';
		return `gdrive://${who}/${this.config.rootFolderId}${host}`;
	}

	private where(rel: string): string {
		return `${this.describe()}/${rel}`;
	}

	/* ---------------------------------------------------------------- auth */

	private async fetchToken(): Promise<{ access_token: string; expiry_date: number }> {
		const authConfig = this.config.auth;
		const form = new URLSearchParams();
		if (authConfig.kind === 'serviceAccount') {
			const now = Math.floor(Date.now() / 1000);
			const claims: Record<string, string | number> = {
				iss: authConfig.clientEmail,
				scope: DRIVE_SCOPE,
				aud: this.tokenUrl,
				iat: now,
				exp: now + 3600,
			};
			if (authConfig.subject) claims.sub = authConfig.subject;
			const unsigned = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
			let signature: string;
			try {
				signature = createSign('RSA-SHA256')
					.update(unsigned)
					.sign(authConfig.privateKey.replace(/\\n/g, '\n'), 'base64url');
			} catch (error) {
				throw new BackupError(
					'AUTH_FAILED',
					`The service account private key for ${authConfig.clientEmail} cannot be used: ${(error as Error).message}`,
					'Paste the "private_key" value from the JSON key file exactly, including the BEGIN/END lines.',
					{ cause: error },
				);
			}
			form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
			form.set('assertion', `${unsigned}.${signature}`);
		} else {
			form.set('grant_type', 'refresh_token');
			form.set('client_id', authConfig.clientId);
			form.set('client_secret', authConfig.clientSecret);
			form.set('refresh_token', authConfig.refreshToken);
		}
		const response = await withRetries(
			async () => {
				const answer = await fetch(this.tokenUrl, {
					method: 'POST',
					body: form,
					signal: AbortSignal.timeout(this.timeoutMs),
				});
				if (answer.status >= 500 || answer.status === 429)
					throw new DriveHttpError(answer.status, undefined, `token endpoint answered ${answer.status}`);
				return answer;
			},
			isTransient,
			{ maxRetries: 3 },
		).catch((error) => {
			throw new BackupError(
				'UNREACHABLE',
				`Cannot reach Google's token endpoint ${this.tokenUrl}: ${(error as Error).message}`,
				"Check this machine's internet access (and proxy settings) to oauth2.googleapis.com.",
				{ cause: error },
			);
		});
		const body = (await response.json().catch(() => ({}))) as {
			access_token?: string;
			expires_in?: number;
			error?: string;
			error_description?: string;
		};
		if (!response.ok || !body.access_token) {
			const detail = `${body.error ?? response.status}${body.error_description ? `: ${body.error_description}` : ''}`;
			const hint =
				authConfig.kind === 'serviceAccount'
					? authConfig.subject
						? `Check the key, and that domain-wide delegation for this service account's client id is allowed for scope ${DRIVE_SCOPE} in the Workspace admin console, and that ${authConfig.subject} exists.`
						: 'Check that the service account key is current (not deleted in Google Cloud) and pasted completely.'
					: 'The refresh token may be revoked or expired (tokens of apps in "testing" expire after 7 days): sign in again in the credential.';
			throw new BackupError('AUTH_FAILED', `Google refused the credentials (${detail})`, hint);
		}
		return { access_token: body.access_token, expiry_date: Date.now() + (body.expires_in ?? 3600) * 1000 };
	}

	private async authHeader(): Promise<string> {
		const { token } = await this.oauth.getAccessToken();
		if (!token)
			throw new BackupError('AUTH_FAILED', 'No access token from Google', 'Check the Google Drive credential.');
		return `Bearer ${token}`;
	}

	/* ---------------------------------------------------------------- errors and retries */

	private toBackupError(error: unknown, action: string, rel: string): BackupError {
		if (error instanceof BackupError) return error;
		const where = this.where(rel);
		if (error instanceof DriveHttpError) {
			if (
				error.reason === 'storageQuotaExceeded' ||
				error.reason === 'quotaExceeded' ||
				error.reason === 'teamDriveFileLimitExceeded' ||
				error.reason === 'numChildrenInNonRootLimitExceeded'
			) {
				return new BackupError(
					'QUOTA_EXCEEDED',
					`Google Drive is full: cannot ${action} ${where} (${error.reason}: ${error.message})`,
					'Free space in the Drive / shared drive (run Prune, empty the trash) or buy more storage. Service accounts have no storage of their own: use a shared drive.',
					{ cause: error },
				);
			}
			if (
				error.reason === 'uploadLimitExceeded' ||
				error.reason === 'dailyLimitExceeded' ||
				(error.status === 403 && error.reason === 'userRateLimitExceeded')
			) {
				return new BackupError(
					'QUOTA_EXCEEDED',
					`Google Drive refused to ${action} ${where}: upload limit reached (${error.reason}: ${error.message})`,
					'Google allows 750 GB of uploads per user per day; wait until the limit resets (24 h) or spread uploads over days / accounts. Retries with backoff were already made.',
					{ cause: error },
				);
			}
			if (error.status === 401)
				return new BackupError(
					'AUTH_FAILED',
					`Google rejected the access token for ${where}`,
					'Check the Google Drive credential.',
					{ cause: error },
				);
			if (error.status === 403 || error.status === 404) {
				return new BackupError(
					'PERMISSION_DENIED',
					`Google Drive refused to ${action} ${where} (${error.status} ${error.reason ?? ''}: ${error.message})`,
					this.config.auth.kind === 'serviceAccount'
						? 'Share the folder (or shared drive) with the service account e-mail as Content manager / Editor, and check the folder id.'
						: 'Check the folder id, and that the Google account the credential signed in with can edit that folder (owner, Editor, or Content manager on a shared drive).',
					{ cause: error },
				);
			}
		}
		return new BackupError(
			'TRANSFER_FAILED',
			`Could not ${action} ${where}: ${(error as Error).message}`,
			'Google Drive or the network failed repeatedly; run again (uploads resume).',
			{ cause: error },
		);
	}

	/** A googleapis call with our backoff (the client's own retry is off). */
	private call<T>(request: () => Promise<{ data: T }>, signal?: AbortSignal): Promise<T> {
		return withRetries(
			async () => {
				try {
					return (await request()).data;
				} catch (error) {
					throw fromGaxios(error);
				}
			},
			isTransient,
			{ maxRetries: this.maxRetries, signal },
		);
	}

	private readonly common = { supportsAllDrives: true } as const;

	/* ---------------------------------------------------------------- names and folders */

	private async childrenNamed(parentId: string, name: string): Promise<DriveFile[]> {
		const files: DriveFile[] = [];
		let pageToken: string | undefined;
		do {
			const page = await this.call(() =>
				this.api.files.list({
					...this.common,
					includeItemsFromAllDrives: true,
					corpora: 'allDrives',
					q: `'${escapeQuery(parentId)}' in parents and name = '${escapeQuery(name)}' and trashed = false`,
					fields: `nextPageToken,files(${FILE_FIELDS})`,
					pageSize: 100,
					pageToken,
				}),
			);
			files.push(...(page.files ?? []));
			pageToken = page.nextPageToken ?? undefined;
		} while (pageToken);
		// Oldest first: with duplicates (Drive allows them) the oldest is the one that counts.
		return files.sort(
			(a, b) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || (a.id ?? '').localeCompare(b.id ?? ''),
		);
	}

	private rootChecked = false;

	private async folderId(relFolder: string, create: boolean): Promise<string | undefined> {
		if (!this.rootChecked) {
			// Drive lists nothing for an unknown parent: check the root once so a wrong or
			// unshared folder id is an error, not an empty destination.
			const root = await this.call(() =>
				this.api.files.get({ ...this.common, fileId: this.config.rootFolderId.trim(), fields: 'id,mimeType' }),
			);
			if (root.mimeType !== FOLDER_MIME)
				throw new BackupError(
					'INVALID_INPUT',
					`Google Drive item ${this.config.rootFolderId} is not a folder`,
					'Give the id of a folder (or shared drive), from its address …/folders/<id>.',
				);
			this.rootChecked = true;
		}
		const known = this.folderIds.get(relFolder);
		if (known) return known;
		const parentId = await this.folderId(parentOf(relFolder), create);
		if (!parentId) return undefined;
		const name = baseName(relFolder);
		let folder = (await this.childrenNamed(parentId, name)).find((file) => file.mimeType === FOLDER_MIME);
		if (!folder && create) {
			folder = await this.call(() =>
				this.api.files.create({
					...this.common,
					requestBody: { name, mimeType: FOLDER_MIME, parents: [parentId] },
					fields: 'id,createdTime',
				}),
			);
			// Two writers may have created it at once: settle on the oldest, drop ours if not it.
			const all = (await this.childrenNamed(parentId, name)).filter((file) => file.mimeType === FOLDER_MIME);
			if (all[0]?.id && all[0].id !== folder.id) {
				await this.call(() => this.api.files.delete({ ...this.common, fileId: folder!.id! })).catch(() => undefined);
				folder = all[0];
			}
		}
		if (!folder?.id) return undefined;
		this.folderIds.set(relFolder, folder.id);
		return folder.id;
	}

	private async findFile(rel: string): Promise<DriveFile | undefined> {
		const parentId = await this.folderId(parentOf(rel), false);
		if (!parentId) return undefined;
		return (await this.childrenNamed(parentId, baseName(rel))).find((file) => file.mimeType !== FOLDER_MIME);
	}

	private info(file: DriveFile): RemoteFileInfo {
		return {
			size: Number(file.size ?? 0),
			modifiedAt: file.modifiedTime ? new Date(file.modifiedTime) : undefined,
			sha256: file.sha256Checksum ?? undefined,
			md5: file.md5Checksum ?? undefined,
		};
	}

	/* ---------------------------------------------------------------- put (resumable upload) */

	async put(localFile: string, remotePath: string, options: PutOptions = {}): Promise<PutResult> {
		const rel = normalizeRemotePath(remotePath);
		const started = Date.now();
		try {
			const stat = await fsp.stat(localFile);
			const parentId = (await this.folderId(parentOf(rel), true))!;
			const sessionKey = `${rel}|${stat.size}|${stat.mtimeMs}`;
			const { file, digest, resumedFrom } = await this.resumableUpload(
				localFile,
				stat.size,
				sessionKey,
				{ name: baseName(partialName(rel)), parents: [parentId] },
				options,
			);
			const remote = this.info(file);
			let verifiedBy;
			try {
				verifiedBy = checkRemoteCopy(digest, remote, this.where(rel));
				if (options.expectedSha256 && options.expectedSha256 !== digest.sha256) {
					throw new BackupError(
						'VERIFY_FAILED',
						`Local file ${localFile} has SHA-256 ${digest.sha256}, expected ${options.expectedSha256}`,
						'The staged file changed after it was made; run Verify on the set.',
					);
				}
			} catch (error) {
				await this.call(() => this.api.files.delete({ ...this.common, fileId: file.id! })).catch(() => undefined);
				throw error;
			}
			// Rename into place, then drop older files of that name (Drive allows duplicates).
			const older = await this.childrenNamed(parentId, baseName(rel));
			await this.call(() =>
				this.api.files.update({ ...this.common, fileId: file.id!, requestBody: { name: baseName(rel) }, fields: 'id' }),
			);
			for (const old of older)
				if (old.id && old.id !== file.id)
					await this.call(() => this.api.files.delete({ ...this.common, fileId: old.id! }));
			return {
				remotePath: rel,
				bytes: digest.bytes,
				sha256: digest.sha256,
				verifiedBy,
				remote,
				resumedFrom,
				durationMs: Date.now() - started,
			};
		} catch (error) {
			throw this.toBackupError(error, 'upload', rel);
		}
	}

	/**
	 * The resumable protocol: POST the metadata for a session URI, PUT chunks with Content-Range,
	 * 308 + Range says what the server has. One chunk is in memory at a time. Every local byte is
	 * hashed exactly once, in order, as it is first read (re-sent bytes were already hashed).
	 */
	private async resumableUpload(
		localFile: string,
		size: number,
		sessionKey: string,
		metadata: DriveFile,
		options: TransferOptions,
	) {
		const meter = new DigestingMeter(options.onProgress, 0, 2000, true);
		const file = await fsp.open(localFile, 'r');
		let hashedUpTo = 0;
		const hashUpTo = async (end: number) => {
			while (hashedUpTo < end) {
				const buffer = Buffer.allocUnsafe(Math.min(1 << 20, end - hashedUpTo));
				const { bytesRead } = await file.read(buffer, 0, buffer.length, hashedUpTo);
				if (bytesRead === 0) throw new Error(`${localFile} is shorter than when the upload started`);
				meter.update(buffer.subarray(0, bytesRead));
				hashedUpTo += bytesRead;
			}
		};
		try {
			let sessionUri = this.sessions.get(sessionKey);
			const kept = sessionUri ? await this.sessionOffset(sessionUri, size).catch(() => undefined) : undefined;
			if (kept !== undefined && typeof kept === 'object') {
				// An earlier attempt sent everything but stopped before the rename.
				this.sessions.delete(sessionKey);
				await hashUpTo(size);
				return { file: kept, digest: meter.digest(), resumedFrom: size };
			}
			let offset: number = kept ?? 0;
			if (kept === undefined || !sessionUri) sessionUri = await this.startSession(metadata, size, options.signal);
			this.sessions.set(sessionKey, sessionUri);
			const resumedFrom = offset;
			let failures = 0;
			for (;;) {
				if (options.signal?.aborted) throw abortError(localFile);
				const end = Math.min(size, offset + this.chunkBytes);
				const chunk = Buffer.allocUnsafe(end - offset);
				if (chunk.length) {
					const { bytesRead } = await file.read(chunk, 0, chunk.length, offset);
					if (bytesRead !== chunk.length) throw new Error(`${localFile} changed while uploading`);
				}
				// Hash the new part of this chunk (and any prefix a resumed session skipped).
				await hashUpTo(offset);
				if (end > hashedUpTo) {
					meter.update(chunk.subarray(hashedUpTo - offset));
					hashedUpTo = end;
				}
				let answer: { done: DriveFile } | { next: number } | { expired: true };
				try {
					answer = await this.putChunk(sessionUri, chunk, offset, size, options.signal);
					failures = 0;
				} catch (error) {
					if (!isTransient(error) || options.signal?.aborted || ++failures > this.maxRetries) throw error;
					await new Promise((resolve) =>
						setTimeout(resolve, Math.min(30_000, 500 * 2 ** failures) * (0.5 + Math.random() / 2)),
					);
					// Ask the session what it kept, then go on from there.
					const status = await this.sessionOffset(sessionUri, size).catch((statusError) =>
						isTransient(statusError) ? offset : Promise.reject(statusError),
					);
					if (status === undefined) answer = { expired: true };
					else if (typeof status === 'object') answer = { done: status };
					else answer = { next: status };
				}
				if ('done' in answer) {
					this.sessions.delete(sessionKey);
					await hashUpTo(size);
					return { file: answer.done, digest: meter.digest(), resumedFrom };
				}
				if ('expired' in answer) {
					// Sessions last about a week; a 404/410 means start over from byte 0.
					sessionUri = await this.startSession(metadata, size, options.signal);
					this.sessions.set(sessionKey, sessionUri);
					offset = 0;
					continue;
				}
				offset = answer.next;
			}
		} finally {
			await file.close();
		}
	}

	private async startSession(metadata: DriveFile, size: number, signal?: AbortSignal): Promise<string> {
		return withRetries(
			async () => {
				const url = `${this.apiBase}/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true&fields=${encodeURIComponent(FILE_FIELDS)}`;
				const response = await fetch(url, {
					method: 'POST',
					headers: {
						authorization: await this.authHeader(),
						'content-type': 'application/json; charset=UTF-8',
						'x-upload-content-type': 'application/octet-stream',
						'x-upload-content-length': String(size),
					},
					body: JSON.stringify(metadata),
					signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), ...(signal ? [signal] : [])]),
				});
				const body = await response.json().catch(() => undefined);
				if (!response.ok) throw driveErrorFrom(response.status, body);
				const location = response.headers.get('location');
				if (!location)
					throw new DriveHttpError(response.status, undefined, 'resumable session answer had no Location header');
				return location;
			},
			isTransient,
			{ maxRetries: this.maxRetries, signal },
		);
	}

	/** Sends one chunk. 308 -> next offset from Range; 200/201 -> the file; 404/410 -> expired. */
	private async putChunk(
		sessionUri: string,
		chunk: Buffer,
		offset: number,
		size: number,
		signal?: AbortSignal,
	): Promise<{ done: DriveFile } | { next: number } | { expired: true }> {
		const range = chunk.length ? `bytes ${offset}-${offset + chunk.length - 1}/${size}` : `bytes */${size}`;
		const response = await fetch(sessionUri, {
			method: 'PUT',
			headers: {
				authorization: await this.authHeader(),
				'content-range': range,
				'content-length': String(chunk.length),
			},
			body: chunk,
			signal: AbortSignal.any([AbortSignal.timeout(Math.max(this.timeoutMs, 300_000)), ...(signal ? [signal] : [])]),
		});
		return this.readSessionAnswer(response);
	}

	private async readSessionAnswer(
		response: Response,
	): Promise<{ done: DriveFile } | { next: number } | { expired: true }> {
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
			headers: { authorization: await this.authHeader(), 'content-range': `bytes */${size}`, 'content-length': '0' },
			signal: AbortSignal.timeout(this.timeoutMs),
		});
		const answer = await this.readSessionAnswer(response);
		if ('done' in answer) return answer.done;
		if ('expired' in answer) return undefined;
		return answer.next;
	}

	/* ---------------------------------------------------------------- the rest */

	async get(remotePath: string, localFile: string, options: TransferOptions = {}): Promise<GetResult> {
		const rel = normalizeRemotePath(remotePath);
		try {
			const file = await this.findFile(rel);
			if (!file?.id)
				throw new BackupError(
					'SET_NOT_FOUND',
					`No file ${this.where(rel)}`,
					'List the destination to see which sets it holds.',
				);
			const result = await downloadToLocal(
				() => this.download(file.id!, options.signal),
				localFile,
				Number(file.size ?? 0),
				options,
			);
			if (file.sha256Checksum && file.sha256Checksum !== result.sha256) {
				throw new BackupError(
					'VERIFY_FAILED',
					`Downloaded ${this.where(rel)} has SHA-256 ${result.sha256}, Drive reports ${file.sha256Checksum}`,
					'Download again; if it repeats, the copy on Drive is damaged.',
				);
			}
			return result;
		} catch (error) {
			throw this.toBackupError(error, 'download', rel);
		}
	}

	private async download(fileId: string, signal?: AbortSignal): Promise<Readable> {
		const response = await fetch(
			`${this.apiBase}/drive/v3/files/${encodeURIComponent(fileId)}?alt=media&supportsAllDrives=true`,
			{
				headers: { authorization: await this.authHeader() },
				signal,
			},
		);
		if (!response.ok || !response.body)
			throw driveErrorFrom(response.status, await response.json().catch(() => undefined));
		return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
	}

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		try {
			const folderId = await this.folderId(rel, false);
			if (!folderId) return [];
			const entries: RemoteEntry[] = [];
			let pageToken: string | undefined;
			do {
				const page = await this.call(() =>
					this.api.files.list({
						...this.common,
						includeItemsFromAllDrives: true,
						corpora: 'allDrives',
						q: `'${escapeQuery(folderId)}' in parents and trashed = false`,
						fields: `nextPageToken,files(${FILE_FIELDS})`,
						pageSize: 1000,
						pageToken,
					}),
				);
				for (const file of page.files ?? []) {
					const isFolder = file.mimeType === FOLDER_MIME;
					entries.push({
						name: file.name ?? '',
						path: rel ? `${rel}/${file.name}` : (file.name ?? ''),
						isFolder,
						size: isFolder ? 0 : Number(file.size ?? 0),
						modifiedAt: file.modifiedTime ? new Date(file.modifiedTime) : undefined,
					});
				}
				pageToken = page.nextPageToken ?? undefined;
			} while (pageToken);
			return entries;
		} catch (error) {
			throw this.toBackupError(error, 'list', rel || '.');
		}
	}

	async stat(remotePath: string): Promise<RemoteFileInfo | null> {
		const rel = normalizeRemotePath(remotePath);
		try {
			const file = await this.findFile(rel);
			return file ? this.info(file) : null;
		} catch (error) {
			throw this.toBackupError(error, 'read', rel);
		}
	}

	async remove(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		try {
			const parentId = await this.folderId(parentOf(rel), false);
			if (!parentId) return;
			for (const file of await this.childrenNamed(parentId, baseName(rel))) {
				if (file.mimeType !== FOLDER_MIME) await this.deleteById(file.id!);
			}
		} catch (error) {
			throw this.toBackupError(error, 'delete', rel);
		}
	}

	/** Deleting a folder deletes everything in it (one call; permanent, not to the trash). */
	async removeFolder(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		try {
			const folderId = await this.folderId(rel, false);
			if (!folderId) return;
			await this.deleteById(folderId);
			for (const key of [...this.folderIds.keys()])
				if (key === rel || key.startsWith(`${rel}/`)) this.folderIds.delete(key);
		} catch (error) {
			throw this.toBackupError(error, 'delete', rel);
		}
	}

	private async deleteById(fileId: string): Promise<void> {
		await this.call(() => this.api.files.delete({ ...this.common, fileId })).catch((error) => {
			if (error instanceof DriveHttpError && error.status === 404) return;
			throw error;
		});
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const rel = normalizeRemotePath(remotePath);
		try {
			const parentId = (await this.folderId(parentOf(rel), true))!;
			if ((await this.childrenNamed(parentId, baseName(rel))).length > 0) return false;
			// A one-chunk resumable upload (the client's media upload ignores a custom rootUrl).
			const data = Buffer.from(content);
			const session = await this.startSession({ name: baseName(rel), parents: [parentId] }, data.length);
			const answer = await withRetries(() => this.putChunk(session, data, 0, data.length), isTransient, {
				maxRetries: this.maxRetries,
			});
			if (!('done' in answer)) throw new DriveHttpError(500, undefined, `Drive did not finish the upload of ${rel}`);
			const created = answer.done;
			// Drive allows duplicate names: the oldest file wins; later creators remove theirs.
			const all = await this.childrenNamed(parentId, baseName(rel));
			if (all[0]?.id === created.id) return true;
			await this.deleteById(created.id!);
			return false;
		} catch (error) {
			throw this.toBackupError(error, 'create', rel);
		}
	}

	async readSmallFile(remotePath: string, maxBytes = 1 << 20): Promise<Buffer | null> {
		const rel = normalizeRemotePath(remotePath);
		try {
			const file = await this.findFile(rel);
			if (!file?.id) return null;
			if (Number(file.size ?? 0) > maxBytes)
				throw new BackupError(
					'INVALID_INPUT',
					`${this.where(rel)} is ${file.size} bytes, more than the ${maxBytes} expected`,
					'This is not the small file expected here (lock or manifest); check the destination.',
				);
			const chunks: Buffer[] = [];
			for await (const chunk of await this.download(file.id)) chunks.push(chunk as Buffer);
			return Buffer.concat(chunks);
		} catch (error) {
			throw this.toBackupError(error, 'read', rel);
		}
	}

	async close(): Promise<void> {
		this.folderIds.clear();
		this.folderIds.set('', this.config.rootFolderId.trim());
	}
}
