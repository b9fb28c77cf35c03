/**
 * A local emulator of the Google Drive v3 endpoints our code uses, on 127.0.0.1, following
 * Google's documented protocol so that the client code runs unchanged against it:
 *
 * - POST /token: OAuth2 `refresh_token` grant and the service-account JWT bearer grant (the
 *   RS256 signature is checked against the key pair the test created; `aud` must be this URL).
 * - Bearer tokens required on every API call (401 otherwise, Google's error body shape).
 * - files.list with `q` (`'<id>' in parents`, `name = '…'`, `mimeType = / != '…'`,
 *   `trashed = false`, joined by `and`), `fields` projection, pageSize / pageToken.
 * - files.get (metadata with md5Checksum / sha256Checksum; `alt=media` content), files.create
 *   (metadata only, e.g. folders), multipart upload, files.update (rename, PATCH), files.delete
 *   (recursive for folders).
 * - Resumable uploads: POST ?uploadType=resumable -> Location; PUT chunks with Content-Range;
 *   every chunk but the last must be a multiple of 256 KiB (400 otherwise); 308 Resume
 *   Incomplete with `Range: bytes=0-N` (no Range when nothing is stored); status query with
 *   `Content-Range: bytes *\/total`; a chunk cut mid-way keeps only whole 256 KiB units.
 *   File content is kept in temporary files on disk (memory stays flat).
 * - Fault hooks: inject N errors (429, 5xx, 403 rateLimitExceeded…), a storage quota
 *   (403 storageQuotaExceeded) and a daily upload cap (403 userRateLimitExceeded).
 */
import { createHash, createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';

const FOLDER_MIME = 'application/vnd.google-apps.folder';
const UNIT = 256 * 1024;

interface StoredFile {
	id: string;
	name: string;
	mimeType: string;
	parents: string[];
	size: number;
	md5Checksum?: string;
	sha256Checksum?: string;
	createdTime: string;
	modifiedTime: string;
	trashed: boolean;
	/** Content file on disk (not for folders). */
	blob?: string;
}

interface UploadSession {
	id: string;
	metadata: Partial<StoredFile>;
	total: number;
	received: number;
	blob: string;
	fields?: string;
	done?: StoredFile;
}

export interface DriveEmulatorOptions {
	/** OAuth2 client that may use the refresh-token grant. */
	oauthClient?: { clientId: string; clientSecret: string; refreshToken: string };
	/** Service account that may use the JWT bearer grant (public key checks the signature). */
	serviceAccount?: { clientEmail: string; publicKeyPem: string; allowedSubjects?: string[] };
}

export interface InjectedFault {
	status: number;
	reason?: string;
	message?: string;
	/** Which requests: default any API call; 'chunk' only resumable PUTs with data. */
	on?: 'any' | 'chunk';
}

export interface DriveEmulator {
	url: string;
	tokenUrl: string;
	rootFolderId: string;
	/** Faults answered to the next matching requests, in order. */
	faults: InjectedFault[];
	/** Storage quota in bytes (sum of file sizes); undefined = unlimited. */
	quotaBytes?: number;
	/** Bytes a user may upload per "day"; beyond it uploads get 403 userRateLimitExceeded. */
	dailyUploadCapBytes?: number;
	uploadedToday: number;
	/** Every request seen, "METHOD path?query" (for assertions on the protocol). */
	requests: string[];
	files(): StoredFile[];
	/** Content of a stored file. */
	readFile(id: string): Promise<Buffer>;
	stop(): Promise<void>;
}

function googleError(
	res: ServerResponse,
	status: number,
	reason: string,
	message: string,
	headers: Record<string, string> = {},
): void {
	res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
	res.end(JSON.stringify({ error: { code: status, message, errors: [{ domain: 'global', reason, message }] } }));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
	res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
	res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let length = 0;
	for await (const chunk of req) {
		length += (chunk as Buffer).length;
		if (length > limit) throw new Error('body too large');
		chunks.push(chunk as Buffer);
	}
	return Buffer.concat(chunks);
}

/** `fields` projection: "id,name" or "nextPageToken,files(id,name)"; undefined = defaults. */
function project(file: StoredFile, fields: string | undefined): Record<string, unknown> {
	const full: Record<string, unknown> = {
		kind: 'drive#file',
		id: file.id,
		name: file.name,
		mimeType: file.mimeType,
		parents: file.parents,
		createdTime: file.createdTime,
		modifiedTime: file.modifiedTime,
		trashed: file.trashed,
		...(file.mimeType === FOLDER_MIME
			? {}
			: { size: String(file.size), md5Checksum: file.md5Checksum, sha256Checksum: file.sha256Checksum }),
	};
	// Drive's default for files.get / create / update: kind, id, name, mimeType.
	const wanted =
		fields && fields !== '*'
			? fields.split(',').map((field) => field.trim())
			: fields === '*'
				? Object.keys(full)
				: ['kind', 'id', 'name', 'mimeType'];
	return Object.fromEntries(wanted.filter((key) => full[key] !== undefined).map((key) => [key, full[key]]));
}

/** The subset of Drive's query language the client uses; unknown terms are a 400 like Drive's. */
function compileQuery(q: string): (file: StoredFile) => boolean {
	const terms = q.split(/\s+and\s+/i).map((term) => term.trim());
	const unquote = (value: string) => value.slice(1, -1).replace(/\\'/g, "'").replace(/\\\\/g, '\\');
	const tests = terms.map((term) => {
		let match = /^('(?:[^'\\]|\\.)*')\s+in\s+parents$/.exec(term);
		if (match) {
			const id = unquote(match[1]);
			return (file: StoredFile) => file.parents.includes(id);
		}
		match = /^(name|mimeType)\s*(=|!=)\s*('(?:[^'\\]|\\.)*')$/.exec(term);
		if (match) {
			const [, field, op, raw] = match;
			const value = unquote(raw);
			return (file: StoredFile) => ((field === 'name' ? file.name : file.mimeType) === value) === (op === '=');
		}
		match = /^trashed\s*=\s*(true|false)$/.exec(term);
		if (match) {
			const value = match[1] === 'true';
			return (file: StoredFile) => file.trashed === value;
		}
		throw new Error(`Invalid Value: unsupported query term "${term}"`);
	});
	return (file) => tests.every((test) => test(file));
}

export async function startDriveEmulator(options: DriveEmulatorOptions = {}): Promise<DriveEmulator> {
	const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'totvs-drive-emulator-'));
	const files = new Map<string, StoredFile>();
	const sessions = new Map<string, UploadSession>();
	const tokens = new Set<string>();
	const newId = () => randomBytes(12).toString('base64url');
	const now = () => new Date().toISOString();
	const rootFolderId = newId();
	files.set(rootFolderId, {
		id: rootFolderId,
		name: 'backups',
		mimeType: FOLDER_MIME,
		parents: [],
		size: 0,
		createdTime: now(),
		modifiedTime: now(),
		trashed: false,
	});
	const serviceKey: KeyObject | undefined = options.serviceAccount
		? createPublicKey(options.serviceAccount.publicKeyPem)
		: undefined;
	let tokenUrl = '';

	const emulator: DriveEmulator = {
		url: '',
		tokenUrl: '',
		rootFolderId,
		faults: [],
		uploadedToday: 0,
		requests: [],
		files: () => [...files.values()],
		readFile: (id) => fsp.readFile(files.get(id)!.blob!),
		stop: async () => {
			await new Promise<void>((resolve) => server.close(() => resolve()));
			server.closeAllConnections();
			await fsp.rm(dir, { recursive: true, force: true });
		},
	};

	const usedBytes = () => [...files.values()].reduce((sum, file) => sum + file.size, 0);

	function storeFile(
		metadata: Partial<StoredFile>,
		blob: string | undefined,
		size: number,
		md5?: string,
		sha256?: string,
	): StoredFile {
		const file: StoredFile = {
			id: newId(),
			name: metadata.name ?? 'Untitled',
			mimeType: metadata.mimeType ?? (blob ? 'application/octet-stream' : FOLDER_MIME),
			parents: metadata.parents?.length ? metadata.parents : [rootFolderId],
			size,
			md5Checksum: md5,
			sha256Checksum: sha256,
			createdTime: now(),
			modifiedTime: now(),
			trashed: false,
			blob,
		};
		files.set(file.id, file);
		return file;
	}

	/** Checks quota and the daily cap before accepting `bytes` more; answers the error itself. */
	function refuseUpload(res: ServerResponse, bytes: number): boolean {
		if (emulator.quotaBytes !== undefined && usedBytes() + bytes > emulator.quotaBytes) {
			googleError(res, 403, 'storageQuotaExceeded', "The user's Drive storage quota has been exceeded.");
			return true;
		}
		if (emulator.dailyUploadCapBytes !== undefined && emulator.uploadedToday + bytes > emulator.dailyUploadCapBytes) {
			googleError(res, 403, 'userRateLimitExceeded', 'User rate limit exceeded.');
			return true;
		}
		return false;
	}

	async function hashBlob(blob: string): Promise<{ md5: string; sha256: string }> {
		const md5 = createHash('md5');
		const sha256 = createHash('sha256');
		for await (const chunk of createReadStream(blob)) {
			md5.update(chunk as Buffer);
			sha256.update(chunk as Buffer);
		}
		return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
	}

	function handleToken(body: Buffer, res: ServerResponse): void {
		const form = new URLSearchParams(body.toString());
		const grant = form.get('grant_type');
		const issue = () => {
			const token = `ya29.${randomBytes(24).toString('base64url')}`;
			tokens.add(token);
			json(res, 200, {
				access_token: token,
				expires_in: 3599,
				token_type: 'Bearer',
				scope: 'https://www.googleapis.com/auth/drive',
			});
		};
		if (grant === 'refresh_token') {
			const client = options.oauthClient;
			if (!client || form.get('client_id') !== client.clientId || form.get('client_secret') !== client.clientSecret)
				return json(res, 401, { error: 'invalid_client', error_description: 'Unauthorized' });
			if (form.get('refresh_token') !== client.refreshToken)
				return json(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
			return issue();
		}
		if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
			const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
			if (!serviceKey || !signature)
				return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT.' });
			const valid = createVerify('RSA-SHA256')
				.update(`${header}.${claims}`)
				.verify(serviceKey, Buffer.from(signature, 'base64url'));
			const payload = JSON.parse(Buffer.from(claims, 'base64url').toString()) as {
				iss?: string;
				aud?: string;
				exp?: number;
				iat?: number;
				sub?: string;
				scope?: string;
			};
			if (!valid) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
			if (payload.iss !== options.serviceAccount!.clientEmail)
				return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid email or User ID' });
			if (payload.aud !== tokenUrl)
				return json(res, 400, {
					error: 'invalid_grant',
					error_description: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe',
				});
			if (!payload.exp || !payload.iat || payload.exp - payload.iat > 3600 || payload.exp * 1000 < Date.now())
				return json(res, 400, {
					error: 'invalid_grant',
					error_description: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe',
				});
			if (payload.sub && !options.serviceAccount!.allowedSubjects?.includes(payload.sub))
				return json(res, 401, {
					error: 'unauthorized_client',
					error_description:
						'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
				});
			return issue();
		}
		return json(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
	}

	async function handleResumablePut(session: UploadSession, req: IncomingMessage, res: ServerResponse): Promise<void> {
		if (session.done) {
			await readBody(req);
			return json(res, 200, project(session.done, session.fields));
		}
		const contentRange = req.headers['content-range'] ?? '';
		const status = /^bytes \*\/(\d+|\*)$/.exec(contentRange);
		const incomplete = (headers: Record<string, string> = {}) => {
			const range = session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {};
			res.writeHead(308, { ...range, 'x-guploader-uploadid': session.id, 'content-length': '0', ...headers });
			res.end();
		};
		if (status) {
			await readBody(req);
			// A status query on a session that has every byte (e.g. an empty file) completes it.
			if (session.received === session.total) return finishSession(session, res);
			return incomplete();
		}
		const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange);
		if (!match) {
			await readBody(req).catch(() => undefined);
			return googleError(res, 400, 'badContent', `Invalid Content-Range header: "${contentRange}"`);
		}
		const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
		const length = end - start + 1;
		const isLast = end + 1 === total;
		if (total !== session.total || start !== session.received || (!isLast && length % UNIT !== 0)) {
			req.resume();
			return googleError(
				res,
				400,
				'badContent',
				`Invalid request. According to the Content-Range header, the upload offset is ${start} byte(s) and the chunk is ${length} byte(s); ${session.received} byte(s) were received (chunks must be multiples of 262144 bytes except the last).`,
			);
		}
		if (emulator.dailyUploadCapBytes !== undefined && emulator.uploadedToday + length > emulator.dailyUploadCapBytes) {
			req.resume();
			return googleError(res, 403, 'userRateLimitExceeded', 'User rate limit exceeded.');
		}
		// Append to the session's blob; if the connection is cut, keep whole 256 KiB units only.
		const out = createWriteStream(session.blob, { flags: 'r+', start });
		let got = 0;
		const finished = await new Promise<boolean>((resolve) => {
			req.on('data', (chunk: Buffer) => {
				got += chunk.length;
				if (!out.write(chunk)) {
					req.pause();
					out.once('drain', () => req.resume());
				}
			});
			req.on('end', () => resolve(true));
			req.on('aborted', () => resolve(false));
			req.on('error', () => resolve(false));
			req.on('close', () => resolve(got === length));
		});
		await new Promise<void>((resolve) => out.end(resolve));
		if (!finished || got !== length) {
			const kept = Math.floor(Math.min(got, length) / UNIT) * UNIT;
			session.received = start + kept;
			emulator.uploadedToday += kept;
			await fsp.truncate(session.blob, session.received);
			if (!res.destroyed) incomplete();
			return;
		}
		session.received = end + 1;
		emulator.uploadedToday += length;
		if (!isLast) return incomplete();
		return finishSession(session, res);
	}

	async function finishSession(session: UploadSession, res: ServerResponse): Promise<void> {
		await fsp.truncate(session.blob, session.received);
		const { md5, sha256 } = await hashBlob(session.blob);
		if (emulator.quotaBytes !== undefined && usedBytes() + session.total > emulator.quotaBytes) {
			sessions.delete(session.id);
			await fsp.rm(session.blob, { force: true });
			return googleError(res, 403, 'storageQuotaExceeded', "The user's Drive storage quota has been exceeded.");
		}
		session.done = storeFile(session.metadata, session.blob, session.total, md5, sha256);
		json(res, 200, project(session.done, session.fields));
	}

	async function handleMultipart(req: IncomingMessage, res: ServerResponse, fields: string | undefined): Promise<void> {
		const boundary = /boundary=("?)([^";]+)\1/.exec(req.headers['content-type'] ?? '')?.[2];
		if (!boundary) return googleError(res, 400, 'badContent', 'Multipart upload needs a boundary');
		const body = await readBody(req);
		const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
		if (parts.length !== 2)
			return googleError(res, 400, 'badContent', 'Multipart upload must have metadata and media parts');
		const [metaPart, mediaPart] = parts.map((part) => {
			const split = part.indexOf('\r\n\r\n');
			return Buffer.from(part.slice(split + 4, part.endsWith('\r\n') ? -2 : undefined), 'latin1');
		});
		if (refuseUpload(res, mediaPart.length)) return;
		const metadata = JSON.parse(metaPart.toString('utf8')) as Partial<StoredFile>;
		const blob = path.join(dir, newId());
		await fsp.writeFile(blob, mediaPart);
		emulator.uploadedToday += mediaPart.length;
		const file = storeFile(
			metadata,
			blob,
			mediaPart.length,
			createHash('md5').update(mediaPart).digest('hex'),
			createHash('sha256').update(mediaPart).digest('hex'),
		);
		json(res, 200, project(file, fields));
	}

	async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const auth = req.headers.authorization ?? '';
		if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
			req.resume();
			return googleError(res, 401, 'authError', 'Request had invalid authentication credentials.', {
				'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
			});
		}
		const isChunk =
			req.method === 'PUT' && url.pathname === '/upload/drive/v3/files' && req.headers['content-length'] !== '0';
		const faultIndex = emulator.faults.findIndex(
			(fault) => (fault.on ?? 'any') === 'any' || (fault.on === 'chunk' && isChunk),
		);
		if (faultIndex >= 0) {
			const [fault] = emulator.faults.splice(faultIndex, 1);
			req.resume();
			return googleError(
				res,
				fault.status,
				fault.reason ?? (fault.status === 429 ? 'rateLimitExceeded' : 'backendError'),
				fault.message ?? 'Injected fault',
			);
		}
		const fields = url.searchParams.get('fields') ?? undefined;
		const fileMatch = /^\/drive\/v3\/files\/([^/]+)$/.exec(url.pathname);

		if (url.pathname === '/upload/drive/v3/files' && req.method === 'POST') {
			const type = url.searchParams.get('uploadType');
			if (type === 'multipart') return handleMultipart(req, res, fields);
			if (type === 'resumable') {
				const total = Number(req.headers['x-upload-content-length'] ?? NaN);
				const metadata = JSON.parse((await readBody(req)).toString() || '{}') as Partial<StoredFile>;
				if (!Number.isFinite(total))
					return googleError(res, 400, 'badRequest', 'X-Upload-Content-Length is required by this emulator');
				if (refuseUpload(res, total)) return;
				const id = newId();
				const blob = path.join(dir, id);
				await fsp.writeFile(blob, '');
				sessions.set(id, { id, metadata, total, received: 0, blob, fields });
				// Like Google, the session URI is on the host the client called (a proxy in fault tests).
				res.writeHead(200, {
					location: `http://${req.headers.host ?? emulator.url.slice(7)}/upload/drive/v3/files?uploadType=resumable&upload_id=${id}`,
					'content-length': '0',
				});
				res.end();
				return;
			}
			return googleError(res, 400, 'badRequest', `Unsupported uploadType ${type}`);
		}
		if (url.pathname === '/upload/drive/v3/files' && req.method === 'PUT') {
			const session = sessions.get(url.searchParams.get('upload_id') ?? '');
			if (!session) {
				req.resume();
				return googleError(res, 404, 'notFound', 'Upload session not found or expired');
			}
			return handleResumablePut(session, req, res);
		}
		if (url.pathname === '/drive/v3/files' && req.method === 'GET') {
			let predicate: (file: StoredFile) => boolean;
			try {
				predicate = compileQuery(url.searchParams.get('q') ?? 'trashed = false');
			} catch (error) {
				return googleError(res, 400, 'invalid', (error as Error).message);
			}
			const all = [...files.values()].filter((file) => file.id !== rootFolderId && predicate(file));
			const pageSize = Math.min(1000, Number(url.searchParams.get('pageSize') ?? 100));
			const start = Number(url.searchParams.get('pageToken') ?? 0);
			const page = all.slice(start, start + pageSize);
			const listFields = /files\(([^)]*)\)/.exec(fields ?? '')?.[1];
			const body: Record<string, unknown> = {
				kind: 'drive#fileList',
				files: page.map((file) => project(file, listFields)),
			};
			if (start + pageSize < all.length) body.nextPageToken = String(start + pageSize);
			return json(res, 200, body);
		}
		if (url.pathname === '/drive/v3/files' && req.method === 'POST') {
			const metadata = JSON.parse((await readBody(req)).toString() || '{}') as Partial<StoredFile>;
			return json(res, 200, project(storeFile(metadata, undefined, 0), fields));
		}
		if (fileMatch) {
			const file = files.get(decodeURIComponent(fileMatch[1]));
			if (!file || file.trashed) {
				req.resume();
				return googleError(res, 404, 'notFound', `File not found: ${fileMatch[1]}.`);
			}
			if (req.method === 'GET' && url.searchParams.get('alt') === 'media') {
				if (!file.blob)
					return googleError(res, 403, 'fileNotDownloadable', 'Only files with binary content can be downloaded.');
				// A file deleted while its download starts: 404 like Drive, never an answer that stalls.
				const content = createReadStream(file.blob);
				content.once('error', () =>
					res.headersSent ? res.destroy() : googleError(res, 404, 'notFound', `File not found: ${file.id}.`),
				);
				content.once('open', () => {
					res.writeHead(200, { 'content-type': file.mimeType, 'content-length': String(file.size) });
					content.pipe(res);
				});
				return;
			}
			if (req.method === 'GET') return json(res, 200, project(file, fields));
			if (req.method === 'PATCH') {
				const patch = JSON.parse((await readBody(req)).toString() || '{}') as Partial<StoredFile>;
				if (patch.name) file.name = patch.name;
				const add = url.searchParams.get('addParents');
				const remove = url.searchParams.get('removeParents');
				if (remove) file.parents = file.parents.filter((parent) => !remove.split(',').includes(parent));
				if (add) file.parents.push(...add.split(','));
				file.modifiedTime = now();
				return json(res, 200, project(file, fields));
			}
			if (req.method === 'DELETE') {
				const doomed = [file.id];
				for (let i = 0; i < doomed.length; i++)
					for (const child of files.values()) if (child.parents.includes(doomed[i])) doomed.push(child.id);
				for (const id of doomed) {
					const gone = files.get(id);
					files.delete(id);
					if (gone?.blob) await fsp.rm(gone.blob, { force: true });
				}
				res.writeHead(204);
				res.end();
				return;
			}
		}
		req.resume();
		return googleError(res, 404, 'notFound', `Not handled by the emulator: ${req.method} ${url.pathname}`);
	}

	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		emulator.requests.push(`${req.method} ${url.pathname}${url.search}`);
		const done =
			url.pathname === '/token' ? readBody(req).then((body) => handleToken(body, res)) : handleApi(req, res, url);
		done.catch((error) => {
			if (!res.headersSent) googleError(res, 500, 'backendError', (error as Error).message);
			else res.destroy();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	emulator.url = `http://127.0.0.1:${port}`;
	tokenUrl = `${emulator.url}/token`;
	emulator.tokenUrl = tokenUrl;
	return emulator;
}
