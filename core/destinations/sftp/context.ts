import type { SftpConfig } from '../destination';
import type { HostKeyPin } from './fingerprint';

/** Where and as whom to log in: the same for ssh2 and for OpenSSH's client. */
export function loginOf(config: SftpConfig) {
	const { host, username, password, privateKey, passphrase } = config;
	return { host, port: config.port ?? 22, username, password, privateKey, passphrase };
}

/** What the parts of an SFTP destination share: its settings and what it learned about the server. */
export interface SftpContext {
	readonly config: SftpConfig;
	/** The host key(s) a server may show, as the user pinned them. */
	readonly pin: HostKeyPin;
	readonly timeoutMs: number;
	describe(): string;
	/** Whether `sha256sum` runs over exec on this server; undefined until tried. */
	remoteHashWorks?: boolean;
	/** Why the OpenSSH client does not work with this server ('auto' then stays on ssh2). */
	opensshUnusable?: string;
}
