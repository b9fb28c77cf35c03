import type { FtpConfig } from '../destination';

/** What the parts of an FTP destination share. */
export interface FtpContext {
	readonly config: FtpConfig;
	/** The control port (21, or 990 for implicit TLS, unless configured). */
	readonly port: number;
	/** The pinned certificate fingerprint, uppercase hex with ':' (normalizeCertFingerprint). */
	readonly pinned?: string;
	readonly timeoutMs: number;
	describe(): string;
}
