/**
 * The small interface each backend implements, so that the safe upload (verified-put.ts) and
 * the safe download (verified-get.ts) are written once, above all of them. A backend only moves
 * bytes and names: it sends to a partial name, says what it stored (with a hash where the
 * service has one), reads back, renames, deletes, and turns its failures into BackupErrors.
 */
import type { Readable } from 'node:stream';
import type { BackupError } from '../errors';
import type { RemoteFileInfo, TransferOptions } from './destination';
import type { LocalDigest } from './verification';

/** What a send put into the partial: the digest of the whole local file, and where sending began. */
export interface SentFile {
	digest: LocalDigest;
	/** The byte the bytes of this send started at (> 0: appended to an earlier attempt's partial). */
	from: number;
}

/** One upload in progress, under the partial name of its final path. */
export interface PartialUpload {
	/**
	 * Bytes an interrupted earlier attempt left that `send` can continue after; 0 when there
	 * are none or the backend cannot append. verified-put decides whether to use them.
	 */
	readonly resumable: number;
	/** Sends the local file from `offset` into the partial; hashes the WHOLE local file meanwhile. */
	send(offset: number, options: TransferOptions): Promise<SentFile>;
	/** The partial as stored: its size, and a hash the service computed or stored when it has one. */
	stat(): Promise<RemoteFileInfo>;
	/** Reads the partial back and returns its SHA-256 (hex). */
	readBack(options: TransferOptions): Promise<string>;
	/** Renames the partial to the final name, replacing an older file; may report the final file's time. */
	commit(): Promise<Pick<RemoteFileInfo, 'modifiedAt'> | void>;
	/** Deletes the partial (its bytes failed a check); no error when it is gone. */
	discard(): Promise<void>;
}

/** A file found by `statFile`; a backend may carry what it needs to open it (Drive: the file id). */
export type FoundFile = RemoteFileInfo;

export interface TransferDriver<F extends FoundFile = FoundFile> {
	/** Where the destination is, without secrets (Destination.describe). */
	describe(): string;
	/**
	 * Whether `PartialUpload.stat` may come with a hash computed or stored by the service (Drive
	 * always; SFTP while `sha256sum` works over exec; FTP with HASH / XSHA256 / XMD5). Asked
	 * after `beginPut` (FTP learns the server's features at login).
	 */
	offersRemoteHash(): boolean;
	/**
	 * Read back even when the caller did not ask, whenever size is the only check: for the local
	 * folder, where a network share's size proves little and reading is cheap.
	 */
	readonly readBackByDefault: boolean;
	/**
	 * A read (download, small read, read-back) on which no byte arrives for this long fails with
	 * TIMEOUT. Undefined: no limit (the local folder, whose reads the kernel bounds).
	 */
	readonly stallTimeoutMs?: number;
	/** Starts an upload: makes the parent folders, finds what an earlier attempt left. */
	beginPut(rel: string, localFile: string, localSize: number): Promise<PartialUpload>;
	/** Size (and any stored hash) of a file; null when there is no such file. */
	statFile(rel: string): Promise<F | null>;
	/** The bytes of a file `statFile` found. */
	openRead(rel: string, file: F, signal?: AbortSignal): Promise<Readable>;
	/** Whatever failed, as a BackupError naming the place and what to do; BackupErrors pass unchanged. */
	toBackupError(error: unknown, action: string, rel: string): Promise<BackupError> | BackupError;
}
