/**
 * The one interface every off-site copy target implements: a local / network folder, SFTP,
 * FTP / FTPS and Google Drive. The set-level code (upload, download, list, prune, lock) is
 * written once against it, and one conformance suite (test/integration/destinations) runs
 * against every implementation.
 *
 * Paths: every `remotePath` is RELATIVE to the destination's root (the folder configured by
 * the user), with '/' separators and no '..' segments, e.g. `prod/prod-20261126T020000Z-full-db/
 * manifest.json`. `''` is the root itself. Implementations create missing parent folders on
 * `put` / `createExclusive`.
 *
 * Atomicity: `put` and `get` write to a temporary name in the same folder (see `partialName`)
 * and rename only when the bytes are complete and checked, so no incomplete file ever appears
 * under a final name, whatever byte the transfer is cut at. A later `put` of the same path
 * resumes from the partial where the backend can prove the result (remote hash), else restarts.
 */
import type { ProgressListener } from '../pipeline/hashing';

export type DestinationKind = 'local' | 'sftp' | 'ftp' | 'google-drive';

export interface TransferOptions {
	/** Called with bytes transferred so far (at most every few seconds). */
	onProgress?: ProgressListener;
	/** Aborts the transfer; the partial file is left for a later resume, never renamed. */
	signal?: AbortSignal;
}

export interface PutOptions extends TransferOptions {
	/**
	 * When the service gives no remote hash (FTP without HASH, SFTP without `sha256sum`), read
	 * the uploaded file back and hash it. Costs a full download; off by default (size only).
	 */
	readBack?: boolean;
	/** SHA-256 the caller already knows (e.g. from the manifest): checked against the local file too. */
	expectedSha256?: string;
}

/** How the copy on the destination was proven equal to the local file. */
export type VerificationMethod = 'sha256' | 'md5' | 'read-back' | 'size';

export interface PutResult {
	remotePath: string;
	/** Bytes of the local file (== remote size, checked). */
	bytes: number;
	/** SHA-256 of the local file as it was sent. */
	sha256: string;
	/** The strongest check that was made: a remote hash, a read-back, or only the size. */
	verifiedBy: VerificationMethod;
	/** What the remote side reported after the rename. */
	remote: RemoteFileInfo;
	/** Bytes that were already on the destination from an interrupted earlier attempt. */
	resumedFrom: number;
	durationMs: number;
}

export interface GetResult {
	localFile: string;
	bytes: number;
	/** SHA-256 of the bytes written locally. */
	sha256: string;
	durationMs: number;
}

export interface RemoteFileInfo {
	size: number;
	modifiedAt?: Date;
	/** Hex digests when the service computes them (Drive, `sha256sum` over SSH, FTP HASH). */
	sha256?: string;
	md5?: string;
}

export interface StatOptions {
	withHash?: boolean;
}

export interface RemoteEntry {
	/** Base name, no folder. */
	name: string;
	/** Relative to the destination root, like every remotePath. */
	path: string;
	isFolder: boolean;
	/** 0 for folders. */
	size: number;
	modifiedAt?: Date;
}

/**
 * How trustworthy `createExclusive` is on a backend (the per-environment lock builds on it):
 * - 'atomic': the server itself refuses to create an existing name (O_EXCL on a local
 *   filesystem, SFTP's CREAT|EXCL open). Two racing callers: exactly one wins.
 * - 'tie-break': the service allows duplicates, so every caller creates, then the oldest
 *   object (creation time, then id) wins and the others delete theirs (Google Drive).
 * - 'check-then-rename': no exclusive create in the protocol (FTP): check absent, upload to a
 *   unique temporary name, rename, read back; a race inside that window can let the later
 *   writer's content stand, which the read-back then reports to the loser as `false`.
 */
export type ExclusiveCreateGuarantee = 'atomic' | 'tie-break' | 'check-then-rename';

export interface Destination {
	readonly kind: DestinationKind;
	readonly exclusiveCreate: ExclusiveCreateGuarantee;

	/** Where this is, without secrets, e.g. `sftp://backup@127.0.0.1:2222/backups`. */
	describe(): string;

	/** Uploads atomically (partial name, then rename) and verifies; see PutResult. */
	put(localFile: string, remotePath: string, options?: PutOptions): Promise<PutResult>;

	/** Downloads to a temporary name next to `localFile`, then renames; checks the size. */
	get(remotePath: string, localFile: string, options?: TransferOptions): Promise<GetResult>;

	/** Direct children of a folder ('' = root); [] when the folder does not exist. Partial files included. */
	list(folder: string): Promise<RemoteEntry[]>;

	/**
	 * Size and time of a file; null when there is no such file. Hashes are included when the
	 * service stores them (Drive), or when `withHash` asks for one computed remotely (SFTP
	 * `sha256sum`, FTP HASH) — that reads the whole file on the server, so it is opt-in.
	 */
	stat(remotePath: string, options?: StatOptions): Promise<RemoteFileInfo | null>;

	/** Deletes a file; no error when it is already gone. */
	remove(remotePath: string): Promise<void>;

	/** Deletes a folder and everything in it (a backup set folder); no error when it is gone. */
	removeFolder(remotePath: string): Promise<void>;

	/**
	 * Creates a small file only if nothing exists under that name. Returns true when this call
	 * created it, false when it already existed. See `exclusiveCreate` for how strong that is.
	 */
	createExclusive(remotePath: string, content: string | Buffer): Promise<boolean>;

	/** Reads a small file (a lock, a manifest) into memory; null when absent; refuses > maxBytes. */
	readSmallFile(remotePath: string, maxBytes?: number): Promise<Buffer | null>;

	/** Ends the connection; idempotent. */
	close(): Promise<void>;
}

/* ------------------------------------------------------------------ configuration */

export interface LocalFolderConfig {
	type: 'local';
	/** Absolute path of the root folder (a local disk or a mounted SMB / NFS share). */
	folder: string;
}

export interface SftpConfig {
	type: 'sftp';
	host: string;
	port?: number;
	username: string;
	password?: string;
	/** OpenSSH / PEM private key text. */
	privateKey?: string;
	passphrase?: string;
	/**
	 * Pinned host key, as `ssh-keygen -lf key.pub` prints it: `SHA256:<base64 without padding>`.
	 * Required: a connection to an unknown key is refused and the message shows the key seen.
	 */
	hostKeySha256: string;
	/** Root folder on the server (absolute, or relative to the login folder). Default: login folder. */
	folder?: string;
	/** Ask the server for `sha256sum` over an exec channel to verify uploads. Default true. */
	remoteHash?: boolean;
	/** Parallel outstanding write requests per upload (ssh2 transport). Default 16 (x 255 KiB). */
	concurrency?: number;
	/**
	 * How upload bytes travel. 'auto' (default): files of 8 MiB or more go through OpenSSH's
	 * `sftp` client when it is installed (8.4 or later; about 1.5x faster than ssh2), allowed
	 * only the host key ssh2 verified against `hostKeySha256`; otherwise ssh2. 'ssh2': always
	 * ssh2. 'openssh': every upload through the OpenSSH client, an error when it is missing.
	 * Logins, listing, the remote hash, renames and downloads always use ssh2.
	 */
	transport?: SftpTransport;
	timeoutMs?: number;
	keepaliveIntervalMs?: number;
}

export type SftpTransport = 'auto' | 'ssh2' | 'openssh';

export type FtpTlsMode = 'none' | 'explicit' | 'implicit';

export interface FtpConfig {
	type: 'ftp';
	host: string;
	/** Default 21 (990 for implicit TLS). */
	port?: number;
	username: string;
	password: string;
	tls: FtpTlsMode;
	/**
	 * Trust for TLS beyond the system CAs: a CA (or self-signed certificate) in PEM, and/or the
	 * server certificate's SHA-256 fingerprint (hex, ':' optional, as `openssl x509 -fingerprint
	 * -sha256` prints it). Validation is never switched off silently.
	 */
	caPem?: string;
	certificateSha256?: string;
	folder?: string;
	timeoutMs?: number;
}

export interface GoogleServiceAccountAuth {
	kind: 'serviceAccount';
	/** The JSON key file's `client_email` and `private_key`. */
	clientEmail: string;
	privateKey: string;
	/** Domain-wide delegation: the Workspace user to act as. */
	subject?: string;
}

export interface GoogleOAuth2Auth {
	kind: 'oauth2';
	clientId: string;
	clientSecret: string;
	refreshToken: string;
}

export interface GoogleDriveConfig {
	type: 'google-drive';
	auth: GoogleServiceAccountAuth | GoogleOAuth2Auth;
	/** The folder id that is the root (on a shared drive, a folder in it, or the drive id). */
	rootFolderId: string;
	/** Chunk size for resumable uploads; rounded to a multiple of 256 KiB. Default 16 MiB. */
	chunkBytes?: number;
	/** For tests / proxies: defaults https://www.googleapis.com and https://oauth2.googleapis.com/token. */
	apiBaseUrl?: string;
	tokenUrl?: string;
	maxRetries?: number;
	timeoutMs?: number;
}

export type DestinationConfig = LocalFolderConfig | SftpConfig | FtpConfig | GoogleDriveConfig;

/* ------------------------------------------------------------------ shared helpers */

const PARTIAL_SUFFIX = '.totvs-partial';

/**
 * The temporary name an upload or download is written under, in the same folder as the final
 * name: hidden (leading dot) so listings and tools skip it, deterministic so a retry finds it.
 */
export function partialName(remotePath: string): string {
	const slash = remotePath.lastIndexOf('/');
	return `${remotePath.slice(0, slash + 1)}.${remotePath.slice(slash + 1)}${PARTIAL_SUFFIX}`;
}

export function isPartialName(name: string): boolean {
	return name.startsWith('.') && name.endsWith(PARTIAL_SUFFIX);
}

/** Checks and normalises a relative remote path; refuses '..', absolute paths and empties. */
export function normalizeRemotePath(remotePath: string, { allowRoot = false } = {}): string {
	const parts = remotePath.split('/').filter((part) => part !== '' && part !== '.');
	if (parts.some((part) => part === '..' || part.includes('\\') || part.includes('\0'))) {
		throw new Error(`Invalid remote path "${remotePath}": no '..', backslashes or NUL allowed`);
	}
	if (parts.length === 0 && !allowRoot) throw new Error('Remote path is empty');
	return parts.join('/');
}

export function parentOf(remotePath: string): string {
	const slash = remotePath.lastIndexOf('/');
	return slash < 0 ? '' : remotePath.slice(0, slash);
}

export function baseName(remotePath: string): string {
	return remotePath.slice(remotePath.lastIndexOf('/') + 1);
}

export function joinRemote(...parts: string[]): string {
	return parts.filter((part) => part !== '').join('/');
}
