/**
 * Restore Test and Restore of a database set, whatever its engine: the set's manifest names the
 * engine, the restore server must be of that engine, and the engine's own restore does the rest.
 * Callers (the nodes) describe the server once and never choose an engine module themselves.
 */
import { hostname } from 'node:os';
import { readSet } from '../backup-set/catalog';
import type { Manifest } from '../backup-set/manifest';
import type { Destination } from '../destinations';
import { BackupError } from '../errors';
import type { Logger } from '../logger';
import type { RealRestoreReport, RestoreReport } from '../restore-shared/report';
import type { PostgresConnection } from '../sources/postgres/connection';
import type { PostgresRestoreOptions } from '../sources/postgres/restore/pg-restore';
import { runRestore, runRestoreTest, type RestoreRequest } from '../sources/postgres/restore/set-restore';
import type { SqlRunner } from '../sources/sqlserver/runner';
import {
	runSqlServerSetRestore,
	runSqlServerSetRestoreTest,
	type SqlServerSetRestoreTestRequest,
} from '../sources/sqlserver/restore/set-restore';
import type { SqlServerAddress } from '../sources/sqlserver/restore/target';
import type { SharedFolder } from '../sources/sqlserver/shared-folder';
import { runFilesRestoreTest } from '../sources/protheus-files/restore-test';
import { restoreFilesSet } from '../sources/protheus-files/restore/files-restore';
import type { FetchedRemoteSet } from './remote/download-folder';
import { fetchRemoteFilesChain } from './remote/files';
import { fetchRemoteDatabaseSet } from './remote/postgres';
import { fetchRemoteSqlServerChain } from './remote/sqlserver';

/** A PostgreSQL server to restore on, and how pg_restore rebuilds the set there. */
export interface PostgresRestoreServer {
	engine: 'postgres';
	/** Its database is only connected to, for CREATE / DROP DATABASE. */
	connection: PostgresConnection;
	restore: PostgresRestoreOptions;
	/** Days the newest business date may lie before the backup; 0 turns the check off (Restore always turns it off). */
	freshnessDays: number;
}

/** A SQL Server to restore on; it reads the set's files itself, through the shared folder. */
export interface SqlServerRestoreServer {
	engine: 'sqlserver';
	connect: () => Promise<SqlRunner>;
	/** The folder holding the set as n8n and as the server see it, from the one TOTVS Dump recorded. */
	sharedFolder: (recorded: SharedFolder) => SharedFolder;
	/** The server as the credential names it: recognises the source server when @@SERVERNAME differs (Restore). */
	address?: SqlServerAddress;
	rowTolerance?: number;
	statsPercent?: number;
}

/** A Protheus file set is restore-tested in a scratch folder made inside this one (empty: the system's temporary folder). */
export interface FilesRestoreServer {
	engine: 'protheus-files';
	scratchFolder?: string;
	/** The zstd program; found on the PATH when empty. */
	zstdPath?: string;
	/** Restore: owners from the recorded numeric ids only (tar --numeric-owner). */
	numericOwner?: boolean;
}

/** This machine's name: where a files set is restored (the restore server of the files operations). */
export const filesRestoreHost = () => hostname();

/** The server a set is restored on (for a file set: where). Its engine must be the set's. */
export type RestoreServer = PostgresRestoreServer | SqlServerRestoreServer | FilesRestoreServer;
/** A server a database set is restored on. */
export type DatabaseRestoreServer = PostgresRestoreServer | SqlServerRestoreServer;

export interface RestoreTestSetRequest {
	/** The set folder (holding manifest.json). */
	folder: string;
	server: RestoreServer;
	/** Keep the restored database when the restore or a check fails, for investigation. */
	keepOnFailure: boolean;
	log: Logger;
	/** n8n's execution cancel signal: the restore stops and its database is dropped. */
	signal?: AbortSignal;
}

export interface RestoreSetRequest extends RestoreTestSetRequest {
	/** The database to restore into. */
	target: string;
	/** Replace a target that exists (only after the restored copy passed every check). */
	replaceExisting: boolean;
	/** Also allow the target to be the database the set was taken from (with replaceExisting). */
	allowSourceDatabase: boolean;
}

/** Which set to fetch from a destination for a restore. */
export interface RemoteSetChoice {
	environment: string;
	/** A backupId; empty or 'latest' for the newest complete database set of the server's engine. */
	backupId?: string;
	/** Local staging folder to download into (SQL Server: a folder inside the shared folder; empty: the shared folder). */
	stagingFolder?: string;
	logger?: Logger;
	signal?: AbortSignal;
}

export type FetchedSet = FetchedRemoteSet & {
	/** SQL Server: the shared folder the chain was downloaded into; the restore must use the same. */
	shared?: SharedFolder;
	/** SQL Server and files: backupIds of every set downloaded for the restore, full first. */
	chain?: string[];
};

/**
 * Restore Test of the set in `folder` on `server`: verified, restored into a scratch database,
 * checked against its manifest, dropped. Failed checks are in the report; a server of another
 * engine than the set's is refused before anything runs.
 */
export async function restoreTestSet(request: RestoreTestSetRequest): Promise<RestoreReport> {
	const server = await serverForSet(request.folder, request.server);
	if (server.engine === 'protheus-files')
		return runFilesRestoreTest({
			folder: request.folder,
			scratchFolder: server.scratchFolder,
			zstdPath: server.zstdPath,
			keepOnFailure: request.keepOnFailure,
			log: request.log,
			signal: request.signal,
		});
	return server.engine === 'postgres'
		? runRestoreTest(postgresRequest(request, server))
		: runSqlServerSetRestoreTest(sqlServerRequest(request, server));
}

/**
 * Restore (real recovery) of the set in `folder` into `target` on `server`, with each engine's
 * guards: never over an existing target without replaceExisting, never over the source database
 * without allowSourceDatabase too, and the target touched only after the copy passed every check.
 * A files set's target is a folder (core/sources/protheus-files/restore/files-restore.ts).
 */
export async function restoreSet(request: RestoreSetRequest): Promise<RealRestoreReport> {
	const server = await serverForSet(request.folder, request.server);
	if (server.engine === 'protheus-files')
		return restoreFilesSet({
			folder: request.folder,
			target: request.target,
			replace: request.replaceExisting,
			keepOnFailure: request.keepOnFailure,
			log: request.log,
			signal: request.signal,
			zstdPath: server.zstdPath,
			numericOwner: server.numericOwner,
		});
	const target = {
		target: request.target,
		replaceExisting: request.replaceExisting,
		allowSourceDatabase: request.allowSourceDatabase,
	};
	return server.engine === 'postgres'
		? runRestore({ ...postgresRequest(request, server), ...target })
		: runSqlServerSetRestore({ ...sqlServerRequest(request, server), ...target, address: server.address });
}

/**
 * Downloads a set of the server's engine from a destination and verifies it (SQL Server: with
 * every set its restore needs, into the shared folder; files: with its chain). Call `finish` on
 * the result when done.
 */
export async function fetchRemoteSet(
	destination: Destination,
	server: RestoreServer,
	choice: RemoteSetChoice,
): Promise<FetchedSet> {
	if (server.engine === 'protheus-files')
		return fetchRemoteFilesChain(destination, { ...choice, zstdPath: server.zstdPath });
	if (server.engine === 'sqlserver')
		return fetchRemoteSqlServerChain(destination, { ...choice, sharedFolder: server.sharedFolder });
	// The restore server's pg_restore checks the archive.
	return fetchRemoteDatabaseSet(destination, { ...choice, verify: { pgClientFolder: server.connection.binFolder } });
}

/**
 * The server, once the set's manifest says it is of the server's engine. An unreadable manifest is
 * left to the restore's own verification, which reports it as a failed check.
 */
async function serverForSet(folder: string, server: RestoreServer): Promise<RestoreServer> {
	const manifest = await readSet(folder).catch(() => undefined);
	if (manifest && manifest.engine !== server.engine) throw engineMismatch(manifest, server.engine);
	return server;
}

const ENGINE_NAMES: Record<RestoreServer['engine'], string> = {
	postgres: 'PostgreSQL',
	sqlserver: 'SQL Server',
	'protheus-files': 'a files scratch folder',
};
const SERVER_HINTS: Record<RestoreServer['engine'], string> = {
	postgres: 'Set "Restore Server" to PostgreSQL and choose a "TOTVS PostgreSQL" credential.',
	sqlserver:
		'Set "Restore Server" to SQL Server and choose a "TOTVS SQL Server" credential for the server to restore on.',
	'protheus-files':
		'A Protheus file set is restored into a folder, not on a database server: choose the files operation for it.',
};

/** Say which server to choose, rather than fail inside pg_restore or RESTORE. */
function engineMismatch(manifest: Manifest, server: RestoreServer['engine']): BackupError {
	const engine = manifest.engine as string;
	const restorable = engine in ENGINE_NAMES ? (engine as RestoreServer['engine']) : undefined;
	return new BackupError(
		'INVALID_INPUT',
		restorable === 'sqlserver'
			? `Backup set ${manifest.backupId} is a SQL Server backup, but the restore server is ${ENGINE_NAMES[server]}`
			: `Backup set ${manifest.backupId} is a ${manifest.engine} ${manifest.component} set, but the restore server is ${ENGINE_NAMES[server]}`,
		restorable ? SERVER_HINTS[restorable] : 'Restore Test restores PostgreSQL, SQL Server and Protheus file sets.',
	);
}

const postgresRequest = (request: RestoreTestSetRequest, server: PostgresRestoreServer): RestoreRequest => ({
	folder: request.folder,
	connection: server.connection,
	restore: server.restore,
	freshnessDays: server.freshnessDays,
	keepOnFailure: request.keepOnFailure,
	log: request.log,
	signal: request.signal,
});

const sqlServerRequest = (
	request: RestoreTestSetRequest,
	server: SqlServerRestoreServer,
): SqlServerSetRestoreTestRequest => ({
	folder: request.folder,
	connect: server.connect,
	sharedFolder: server.sharedFolder,
	rowTolerance: server.rowTolerance,
	statsPercent: server.statsPercent,
	keepOnFailure: request.keepOnFailure,
	log: request.log,
	signal: request.signal,
});
