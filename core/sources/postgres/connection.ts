import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'pg';
import { BackupError, systemErrorCode } from '../../errors';
import { createSecretFolder } from '../../secret-folders';

/** libpq's modes; 'prefer' encrypts when the server offers TLS and falls back to plain otherwise. */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface PostgresConnection {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	/** 'require' encrypts without checking the certificate; the verify modes check it. */
	sslMode: SslMode;
	/** PEM of the CA that signed the server's certificate (verify modes); system CAs when empty. */
	sslCa?: string;
	/** Folder holding pg_dump and pg_restore; found automatically when empty. */
	binFolder?: string;
}

/**
 * Refuses a NUL byte in any text that reaches pg_dump / pg_restore (argv, environment, the
 * password file): node's spawn throws on it, and libpq would cut the text there. Checked
 * before anything is written or run, naming the field so the user knows what to fix.
 */
export function rejectNul(fields: Record<string, string | readonly string[] | undefined>): void {
	for (const [label, value] of Object.entries(fields)) {
		const values = typeof value === 'string' ? [value] : (value ?? []);
		if (values.some((v) => v.includes('\u0000')))
			throw new BackupError(
				'INVALID_INPUT',
				`${label} contains a NUL byte (\\0)`,
				`Remove the NUL character from ${label}: it cannot be passed to the PostgreSQL client tools. Nothing was run.`,
			);
	}
}

/** The credential's text fields, checked by `rejectNul`. */
export const connectionFields = (c: PostgresConnection, database = c.database) => ({
	Host: c.host,
	Database: database,
	User: c.user,
	Password: c.password,
	'CA Certificate': c.sslCa,
	'Client Tools Folder': c.binFolder,
});

export const describeConnection = (c: PostgresConnection) => `${c.user}@${c.host}:${c.port}/${c.database}`;

/** Where distributions keep the system's CA bundle (Debian/Ubuntu, RHEL, SUSE, Alpine/macOS). */
const CA_BUNDLES = [
	'/etc/ssl/certs/ca-certificates.crt',
	'/etc/pki/tls/certs/ca-bundle.crt',
	'/etc/ssl/ca-bundle.pem',
	'/etc/ssl/cert.pem',
];

/** The system CA bundle file, or undefined when this machine has none of the usual ones. */
export function systemCaBundle(): string | undefined {
	return CA_BUNDLES.find((path) => existsSync(path));
}

/**
 * The CA trust of a verify mode, the same for our own connection and for pg_dump / pg_restore:
 * the credential's CA, else the system bundle file. One file for both, so the pre-flight
 * cannot pass where the dump then fails (libpq alone would look for ~/.postgresql/root.crt).
 */
function verifyTrust(c: PostgresConnection): { pem: string; file?: string } {
	if (c.sslCa) return { pem: c.sslCa };
	const file = systemCaBundle();
	if (!file)
		throw new BackupError(
			'INVALID_INPUT',
			`SSL mode ${c.sslMode} needs a CA to check the server certificate, and this machine has no system CA bundle (${CA_BUNDLES.join(', ')})`,
			"Paste the PEM of the CA that signed the server certificate into the credential's CA Certificate field.",
		);
	return { pem: readFileSync(file, 'utf8'), file };
}

export function tlsOptions(c: PostgresConnection): false | ConnectionOptions {
	switch (c.sslMode) {
		case 'disable':
			return false;
		case 'prefer':
		case 'require':
			return { rejectUnauthorized: false };
		case 'verify-ca':
			// The chain is checked against the CA; the host name is not (libpq's verify-ca).
			return { rejectUnauthorized: true, ca: verifyTrust(c).pem, checkServerIdentity: () => undefined };
		case 'verify-full':
			return { rejectUnauthorized: true, ca: verifyTrust(c).pem };
	}
}

/** Opens a client, turning the usual failures into errors that say what to fix. */
export async function connect(c: PostgresConnection, applicationName = 'n8n-nodes-totvs-backup'): Promise<Client> {
	try {
		return await open(c, tlsOptions(c), applicationName);
	} catch (error) {
		// 'prefer' as libpq does it: a server without TLS is then reached in plain.
		if (c.sslMode === 'prefer' && /does not support SSL/i.test((error as Error)?.message ?? ''))
			try {
				return await open(c, false, applicationName);
			} catch (plainError) {
				throw connectionError(plainError, c);
			}
		throw connectionError(error, c);
	}
}

async function open(c: PostgresConnection, ssl: false | ConnectionOptions, applicationName: string): Promise<Client> {
	const client = new Client({
		host: c.host,
		port: c.port,
		database: c.database,
		user: c.user,
		password: c.password,
		ssl,
		application_name: applicationName,
		connectionTimeoutMillis: 15_000,
	});
	// An idle connection dropped by the server must not crash n8n's process.
	client.on('error', () => undefined);
	try {
		await client.connect();
		return client;
	} catch (error) {
		await client.end().catch(() => undefined);
		throw error;
	}
}

/** SQLSTATE or system error of a failed connection, as a BackupError. */
export function connectionError(error: unknown, c: PostgresConnection): BackupError | unknown {
	const code = systemErrorCode(error);
	const where = `${c.host}:${c.port}`;
	const detail = (error as Error)?.message ?? String(error);
	switch (code) {
		case '28P01':
		case '28000':
			return new BackupError(
				'AUTH_FAILED',
				`PostgreSQL at ${where} refused user "${c.user}": ${detail}`,
				'Check the user and password in the TOTVS PostgreSQL credential, and that pg_hba.conf allows this host.',
				{ cause: error },
			);
		case '3D000':
			return new BackupError(
				'DATABASE_NOT_FOUND',
				`Database "${c.database}" does not exist on ${where}`,
				'Check the database name in the credential (Protheus databases are often called protheus, P12 or DADOSADV).',
				{ cause: error },
			);
		case 'ECONNREFUSED':
		case 'ENOTFOUND':
		case 'EAI_AGAIN':
		case 'EHOSTUNREACH':
		case 'ENETUNREACH':
		case 'ETIMEDOUT':
			return new BackupError(
				'UNREACHABLE',
				`Cannot reach PostgreSQL at ${where} (${code})`,
				'Check host and port in the credential, that PostgreSQL is running and listening on that address, and that no firewall blocks n8n.',
				{ cause: error },
			);
	}
	if (/timeout/i.test(detail))
		return new BackupError(
			'UNREACHABLE',
			`Timed out connecting to PostgreSQL at ${where}`,
			'Check host, port and firewalls.',
			{ cause: error },
		);
	if (/SSL|certificate|self[- ]signed/i.test(detail))
		return new BackupError(
			'UNREACHABLE',
			`TLS with PostgreSQL at ${where} failed: ${detail}`,
			'Give the CA certificate that signed the server certificate in the credential, or choose the SSL mode the server supports.',
			{ cause: error },
		);
	return error;
}

/**
 * Environment for pg_dump / pg_restore. The password travels in a 0600 PGPASSFILE inside a
 * private 0700 folder, never in argv (visible in `ps`) nor in the environment. Call
 * `dispose()` when the child has exited.
 */
export async function childEnvironment(
	c: PostgresConnection,
	database = c.database,
): Promise<{ env: NodeJS.ProcessEnv; dispose: () => Promise<void> }> {
	rejectNul(connectionFields(c, database));
	// Before the folder exists: a missing CA must not leave a password file behind.
	const trust = c.sslMode === 'verify-ca' || c.sslMode === 'verify-full' ? verifyTrust(c) : undefined;
	// Private (0700), its owner recorded: a worker killed during pg_dump leaves it to the next sweep.
	const folder = await createSecretFolder('totvs-pg-');
	const escape = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
	const passFile = join(folder, 'pgpass');
	await writeFile(passFile, `*:*:*:${escape(c.user)}:${escape(c.password)}\n`, { mode: 0o600 });
	const env: NodeJS.ProcessEnv = {
		PATH: process.env.PATH,
		LANG: 'C',
		LC_ALL: 'C',
		PGHOST: c.host,
		PGPORT: String(c.port),
		PGDATABASE: database,
		PGUSER: c.user,
		PGPASSFILE: passFile,
		PGAPPNAME: 'n8n-nodes-totvs-backup',
		PGCONNECT_TIMEOUT: '15',
		PGSSLMODE: c.sslMode,
	};
	if (trust) {
		if (trust.file) env.PGSSLROOTCERT = trust.file;
		else {
			const caFile = join(folder, 'root.crt');
			await writeFile(caFile, trust.pem, { mode: 0o600 });
			env.PGSSLROOTCERT = caFile;
		}
	}
	return { env, dispose: () => rm(folder, { recursive: true, force: true }) };
}
