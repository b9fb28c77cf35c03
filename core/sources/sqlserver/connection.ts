import type { config as MssqlConfig } from 'mssql';

/** A SQL Server database, as the "TOTVS SQL Server" credential describes it. */
export interface SqlServerConnection {
	/** Host name or address (no instance or port: those are separate). */
	server: string;
	/** TCP port; ignored when `instance` is set (SQL Browser resolves the instance's port). */
	port: number;
	/** Named instance (MSSQLSERVER01); empty for the default instance. */
	instance?: string;
	database: string;
	authentication: 'sql' | 'ntlm';
	user: string;
	password: string;
	/** Windows domain for NTLM. */
	domain?: string;
	encrypt: boolean;
	/** Accept any certificate: only for servers with a self-signed certificate on a trusted network. */
	trustServerCertificate: boolean;
	connectTimeoutMs: number;
	/** For ordinary queries; BACKUP, RESTORE and DBCC run without a limit. */
	requestTimeoutMs: number;
}

export const defaultSqlServerTimeouts = { connectTimeoutMs: 15_000, requestTimeoutMs: 60_000 };

export function describeSqlServer(
	c: Pick<SqlServerConnection, 'server' | 'port' | 'instance' | 'database' | 'user' | 'domain' | 'authentication'>,
): string {
	const user = c.authentication === 'ntlm' && c.domain ? `${c.domain}\\${c.user}` : c.user;
	const where = c.instance ? `${c.server}\\${c.instance}` : `${c.server}:${c.port}`;
	return `${user}@${where}/${c.database}`;
}

/** The mssql (tedious) configuration for a connection: TLS validated unless told otherwise. */
export function mssqlConfig(c: SqlServerConnection, database = c.database): MssqlConfig {
	const base: MssqlConfig = {
		server: c.server,
		database,
		connectionTimeout: c.connectTimeoutMs,
		requestTimeout: c.requestTimeoutMs,
		// One connection: BACKUP/RESTORE are serial, and a pool would hide which session ran what.
		pool: { min: 0, max: 1 },
		options: {
			encrypt: c.encrypt,
			trustServerCertificate: c.trustServerCertificate,
			appName: 'n8n-nodes-totvs-backup',
			...(c.instance ? { instanceName: c.instance } : {}),
		},
	};
	if (!c.instance) base.port = c.port;
	if (c.authentication === 'ntlm') {
		base.authentication = { type: 'ntlm', options: { userName: c.user, password: c.password, domain: c.domain ?? '' } };
	} else {
		base.user = c.user;
		base.password = c.password;
	}
	return base;
}
