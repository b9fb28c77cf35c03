import type { GoogleDriveConfig } from '../destination';

/** What the parts of a Google Drive destination share. */
export interface DriveContext {
	readonly config: GoogleDriveConfig;
	/** e.g. https://www.googleapis.com, no trailing slash. */
	readonly apiBase: string;
	/** Bytes per chunk of a resumable upload, a multiple of 256 KiB. */
	readonly chunkBytes: number;
	readonly maxRetries: number;
	readonly timeoutMs: number;
	describe(): string;
	/** `Bearer <access token>`, refreshed when it expires. */
	authHeader(): Promise<string>;
}
