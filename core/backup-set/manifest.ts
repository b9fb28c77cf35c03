import { BackupError } from '../errors';
import {
	anything,
	arrayOf,
	boolean,
	integer,
	nullable,
	object,
	oneOf,
	optional,
	string,
	type Check,
} from './schema';

/**
 * The manifest: the one contract every node, destination and later restore depends on.
 * Users' workflows read these fields, so change them only by adding; bump
 * MANIFEST_FORMAT_VERSION when a reader of the old format would misread the new one.
 */
export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export type Component = 'database' | 'files';
export type Engine = 'postgres' | 'sqlserver' | 'protheus-files';
export type BackupType = 'full' | 'differential' | 'incremental' | 'log';
export type CompressionMethod = 'none' | 'gzip' | 'zstd' | 'lz4';

export interface ArtifactRecord {
	/** Relative to the set folder, with forward slashes. */
	path: string;
	bytes: number;
	sha256: string;
	/** What reads it: 'pg_dump-custom', 'pg_dump-directory' (one file of a -Fd dump)… */
	kind: string;
}

export interface PostgresSourceFacts {
	host: string;
	port: number;
	database: string;
	user: string;
	serverVersion: string;
	serverVersionNum: number;
	encoding: string;
	collation: string;
	ctype: string;
	extensions: Array<{ name: string; version: string }>;
	databaseBytes: number;
	pgDumpVersion: string;
}

export interface TableInventory {
	schema: string;
	name: string;
	rows: number;
	/** True when `rows` is the planner's estimate (table above the exact-count limit). */
	rowsEstimated: boolean;
	bytes: number;
	/** max(R_E_C_N_O_) when the table has that column, else null. */
	maxRecno: number | null;
	hasRecno: boolean;
	hasDeleted: boolean;
	/** Name follows DBAccess's alias + company + 0 rule (sa1010) and has R_E_C_N_O_. */
	protheus: boolean;
}

export interface Fingerprint {
	schema: string;
	table: string;
	/** Rows hashed: the first `rows` by R_E_C_N_O_. */
	rows: number;
	/** md5 of the rows' text in the database's own encoding (an encoding change alters it). */
	md5: string;
	/** A text column with accented data in the slice, named so a report can point at it. */
	accentedColumn: string | null;
}

export interface BusinessDate {
	schema: string;
	table: string;
	column: string;
	/** Newest live value, YYYYMMDD as Protheus stores it, or null when the table is empty. */
	newest: string | null;
}

export interface PostgresInventory {
	engine: 'postgres';
	/** Taken inside the snapshot pg_dump used, so counts equal the dump's. */
	snapshotConsistent: boolean;
	tables: TableInventory[];
	counts: { unqIndexes: number; triggers: number; functions: number };
	dbaccess: {
		topTables: string[];
		sysTables: string[];
		/** Procedure names listed in TOP_SP, with whether a function of that name existed. */
		topSpProcedures: Array<{ name: string; exists: boolean }>;
	};
	fingerprints: Fingerprint[];
	businessDates: BusinessDate[];
}

export type Inventory = PostgresInventory;

export interface Manifest {
	formatVersion: number;
	backupId: string;
	environment: string;
	component: Component;
	engine: Engine;
	type: BackupType;
	baseBackupId: string | null;
	parentBackupId: string | null;
	startedAt: string;
	finishedAt: string;
	durationMs: number;
	createdBy: { package: string; version: string; hostname: string };
	source: PostgresSourceFacts;
	options: Record<string, unknown>;
	compression: { method: CompressionMethod; level: number | null };
	encryption: { method: 'none' };
	artifacts: ArtifactRecord[];
	inventory: Inventory;
}

const isoTime = string(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'an ISO-8601 UTC time');
const sha256 = string(/^[0-9a-f]{64}$/, '64 lowercase hex characters');
const relativePath = string(
	/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0]+$/,
	'a relative path inside the set folder',
);

const postgresSource = object({
	host: string(),
	port: integer(1),
	database: string(),
	user: string(),
	serverVersion: string(),
	serverVersionNum: integer(),
	encoding: string(),
	collation: string(),
	ctype: string(),
	extensions: arrayOf(object({ name: string(), version: string() })),
	databaseBytes: integer(),
	pgDumpVersion: string(),
});

const postgresInventory = object({
	engine: oneOf('postgres'),
	snapshotConsistent: boolean,
	tables: arrayOf(
		object({
			schema: string(),
			name: string(),
			rows: integer(),
			rowsEstimated: boolean,
			bytes: integer(),
			maxRecno: nullable(integer(-2147483648)),
			hasRecno: boolean,
			hasDeleted: boolean,
			protheus: boolean,
		}),
	),
	counts: object({ unqIndexes: integer(), triggers: integer(), functions: integer() }),
	dbaccess: object({
		topTables: arrayOf(string()),
		sysTables: arrayOf(string()),
		topSpProcedures: arrayOf(object({ name: string(), exists: boolean })),
	}),
	fingerprints: arrayOf(
		object({
			schema: string(),
			table: string(),
			rows: integer(),
			md5: string(/^[0-9a-f]{32}$/, '32 lowercase hex characters'),
			accentedColumn: nullable(string()),
		}),
	),
	businessDates: arrayOf(
		object({ schema: string(), table: string(), column: string(), newest: nullable(string()) }),
	),
});

const manifestSchema: Check = object({
	formatVersion: integer(1),
	backupId: string(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a backup id'),
	environment: string(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an environment name'),
	component: oneOf('database', 'files'),
	engine: oneOf('postgres', 'sqlserver', 'protheus-files'),
	type: oneOf('full', 'differential', 'incremental', 'log'),
	baseBackupId: nullable(string()),
	parentBackupId: nullable(string()),
	startedAt: isoTime,
	finishedAt: isoTime,
	durationMs: integer(),
	createdBy: object({ package: string(), version: string(), hostname: string() }),
	source: postgresSource,
	options: object({}),
	compression: object({
		method: oneOf('none', 'gzip', 'zstd', 'lz4'),
		level: nullable(integer()),
	}),
	encryption: object({ method: oneOf('none') }),
	artifacts: arrayOf(object({ path: relativePath, bytes: integer(), sha256, kind: string() })),
	inventory: postgresInventory,
	// Reserved for later engines; checked when present so a typo is caught.
	restorePointId: optional(anything),
});

/**
 * Parses and validates manifest text. Throws ManifestError naming the field, or saying the
 * manifest comes from a newer format this version cannot read.
 */
export function parseManifest(text: string, where: string): Manifest {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		throw new ManifestError(
			where,
			`it is not valid JSON (${(error as Error).message}); the file is truncated or was edited`,
		);
	}
	const version = (value as { formatVersion?: unknown } | null)?.formatVersion;
	if (typeof version === 'number' && version > MANIFEST_FORMAT_VERSION) {
		throw new ManifestError(
			where,
			`it uses manifest format ${version}, newer than the ${MANIFEST_FORMAT_VERSION} this version of n8n-nodes-totvs-backup reads`,
			'Update the n8n-nodes-totvs-backup package on this n8n instance.',
		);
	}
	const problem = manifestSchema(value, '');
	if (problem) throw new ManifestError(where, `field ${problem}`);
	return value as Manifest;
}

export function serializeManifest(manifest: Manifest): string {
	const problem = manifestSchema(manifest, '');
	// A bug in our own writer, not user input: refuse to write a manifest we could not read back.
	if (problem) throw new Error(`Refusing to write an invalid manifest: ${problem}`);
	return JSON.stringify(manifest, null, 2) + '\n';
}

export class ManifestError extends BackupError {
	constructor(
		readonly manifestPath: string,
		readonly reason: string,
		hint = 'The backup set cannot be trusted: make a new backup. If the manifest was edited by hand, restore the original from another copy of the set.',
	) {
		super('MANIFEST_INVALID', `Manifest ${manifestPath} is invalid: ${reason}`, hint);
		this.name = 'ManifestError';
	}
}
