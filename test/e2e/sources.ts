/**
 * The servers the e2e workflows use, on loopback, and the n8n credentials that point at them:
 * a Protheus-like database on the shared PostgreSQL (the source), the same server's superuser
 * (the restore server of TOTVS Restore Test), OpenSSH sshd (the SFTP destination) and the Google
 * Drive v3 emulator (the only emulated destination: Google's service cannot run on loopback).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
	createProtheusDatabase,
	dropDatabase,
	type ProtheusDatabaseDescription,
} from '../../support/fixtures/protheus-db';
import { startDriveEmulator, type DriveEmulator } from '../../support/drive-emulator';
import { createRole, dropRole } from '../../support/postgres';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { sftpCredentialData, startSshd, type SshdServer } from '../../support/sshd';
import type { CredentialToImport } from './n8n-cli';

export interface ProtheusSource {
	database: string;
	user: string;
	password: string;
	fixture: ProtheusDatabaseDescription;
	/** A `totvsPostgres` credential for n8n import, optionally with other fields (a wrong password…). */
	credential(id: string, name: string, overrides?: Record<string, unknown>): CredentialToImport;
	drop(): Promise<void>;
}

/** A small Protheus database and a least-privilege backup role (pg_read_all_data), as a site should use. */
export async function createProtheusSource(label: string, scale = 300): Promise<ProtheusSource> {
	const server = sharedPostgres();
	const database = uniqueName(label);
	const user = uniqueName(`${label}_bkp`);
	// Symbols a shell or a URL would mangle: the password must reach pg_dump intact.
	const password = `E2e:${randomBytes(6).toString('hex')}\\@'"$`;
	const fixture = await createProtheusDatabase(server, { name: database, scale });
	await createRole(server, user, password, { memberOf: ['pg_read_all_data'] });
	return {
		database,
		user,
		password,
		fixture,
		credential: (id, name, overrides = {}) => ({
			id,
			name,
			type: 'totvsPostgres',
			data: {
				host: server.host,
				port: server.port,
				database,
				user,
				password,
				sslMode: 'disable',
				binFolder: server.binDir,
				...overrides,
			},
		}),
		async drop() {
			await dropDatabase(server, database);
			await dropRole(server, user);
		},
	};
}

/** A `totvsPostgres` credential for TOTVS Restore Test: the shared server's superuser (it creates scratch databases). */
export function restoreServerCredential(id: string, name: string): CredentialToImport {
	const server = sharedPostgres();
	return {
		id,
		name,
		type: 'totvsPostgres',
		data: {
			host: server.host,
			port: server.port,
			database: 'postgres',
			user: server.user,
			password: server.password,
			sslMode: 'disable',
			binFolder: server.binDir,
		},
	};
}

export interface SftpDestination {
	sshd: SshdServer;
	/** A `totvsSftp` credential: key authentication with a passphrase, the host key pinned. */
	credential(id: string, name: string, overrides?: Record<string, unknown>): CredentialToImport;
	stop(): Promise<void>;
}

/** OpenSSH sshd on a loopback port with a test system user (needs root, as CI runs). */
export async function startSftpDestination(): Promise<SftpDestination> {
	const sshd = await startSshd();
	return {
		sshd,
		credential: (id, name, overrides = {}) => ({
			id,
			name,
			type: 'totvsSftp',
			data: { ...sftpCredentialData(sshd), ...overrides },
		}),
		stop: () => sshd.stop(),
	};
}

export interface DriveDestination {
	drive: DriveEmulator;
	/** A `totvsGoogleDriveApi` credential: a service account key, endpoints pointed at the emulator. */
	credential(id: string, name: string): CredentialToImport;
	stop(): Promise<void>;
}

export async function startDriveDestination(): Promise<DriveDestination> {
	const clientEmail = 'backup@totvs-e2e.iam.gserviceaccount.com';
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const drive = await startDriveEmulator({
		serviceAccount: { clientEmail, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string },
	});
	const serviceAccountJson = JSON.stringify({
		type: 'service_account',
		client_email: clientEmail,
		private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
	});
	return {
		drive,
		credential: (id, name) => ({
			id,
			name,
			type: 'totvsGoogleDriveApi',
			data: {
				authentication: 'serviceAccount',
				serviceAccountJson,
				subject: '',
				folderId: drive.rootFolderId,
				customEndpoints: true,
				apiBaseUrl: drive.url,
				tokenUrl: drive.tokenUrl,
			},
		}),
		stop: () => drive.stop(),
	};
}
