import { BackupError } from '../errors';
import {
	postgresInventorySchema,
	postgresSourceSchema,
	type PostgresInventory,
	type PostgresSourceFacts,
} from './postgres-manifest';
import {
	sqlServerInventorySchema,
	sqlServerSourceSchema,
	type SqlServerInventory,
	type SqlServerSourceFacts,
} from './sqlserver-manifest';
import { filesInventorySchema, filesSourceSchema, type FilesInventory, type FilesSourceFacts } from './files-manifest';
import { ENVIRONMENT, isBackupIdOf, isRestorePointIdOf, type BackupType, type Component } from './ids';
import {
	anything,
	arrayOf,
	integer,
	nullable,
	object,
	oneOf,
	optional,
	relativePath,
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
/**
 * Written into a set folder first, before any artifact (by the set writer in the staging folder,
 * by an upload on a destination, by a download), and removed once its manifest is there. With a
 * backupId name it proves an unfinished folder is one of ours, the only kind Prune may clean.
 * Not hidden (no leading dot): some FTP servers do not list dot files.
 */
export const IN_PROGRESS_MARKER = 'totvs-in-progress.json';

export type * from './postgres-manifest';
export type * from './sqlserver-manifest';
export type * from './files-manifest';

export type { Component, BackupType } from './ids';
export type Engine = 'postgres' | 'sqlserver' | 'protheus-files';
/** 'sqlserver-native': BACKUP … WITH COMPRESSION (SQL Server compresses inside the .bak). */
export type CompressionMethod = 'none' | 'gzip' | 'zstd' | 'lz4' | 'sqlserver-native';

export interface ArtifactRecord {
	/** Relative to the set folder, with forward slashes. */
	path: string;
	bytes: number;
	sha256: string;
	/** What reads it: 'pg_dump-custom', 'pg_dump-directory' (one file of a -Fd dump)… */
	kind: string;
}

/** Per engine: what the manifest says about the source and what was in it at dump time. */
export type SourceFacts = PostgresSourceFacts | SqlServerSourceFacts | FilesSourceFacts;
export type Inventory = PostgresInventory | SqlServerInventory | FilesInventory;

const engineSchemas: Partial<Record<Engine, { source: Check; inventory: Check }>> = {
	postgres: { source: postgresSourceSchema, inventory: postgresInventorySchema },
	sqlserver: { source: sqlServerSourceSchema, inventory: sqlServerInventorySchema },
	'protheus-files': { source: filesSourceSchema, inventory: filesInventorySchema },
};

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
	source: SourceFacts;
	options: Record<string, unknown>;
	compression: { method: CompressionMethod; level: number | null };
	encryption: { method: 'none' };
	artifacts: ArtifactRecord[];
	inventory: Inventory;
	/** Shared by the sets of one restore point (database + files made in one run). */
	restorePointId?: string;
}

/** The source facts and inventory each engine's manifest holds. */
interface EngineParts {
	postgres: { source: PostgresSourceFacts; inventory: PostgresInventory };
	sqlserver: { source: SqlServerSourceFacts; inventory: SqlServerInventory };
	'protheus-files': { source: FilesSourceFacts; inventory: FilesInventory };
}
export type ManifestOf<E extends keyof EngineParts> = Omit<Manifest, 'engine' | 'source' | 'inventory'> & {
	engine: E;
} & EngineParts[E];

/** Narrows a manifest to one engine's parts; a set of another engine is a clear error, not a crash. */
export function manifestOf<E extends keyof EngineParts>(
	manifest: Manifest,
	engine: E,
	where = manifest.backupId,
): ManifestOf<E> {
	if (manifest.engine !== engine)
		throw new ManifestError(
			where,
			`it is a ${manifest.engine} set, not a ${engine} set`,
			'Point this step at a set of the right kind.',
		);
	return manifest as unknown as ManifestOf<E>;
}

const isoTime = string(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'an ISO-8601 UTC time');
const sha256 = string(/^[0-9a-f]{64}$/, '64 lowercase hex characters');
const artifactPath = relativePath('a relative path inside the set folder', {
	strict: true,
	reserved: [MANIFEST_FILE, IN_PROGRESS_MARKER],
});

const commonSchema: Check = object({
	formatVersion: integer(1),
	backupId: string(), // checked against the environment below, like every id
	environment: string(ENVIRONMENT, 'an environment name (letters, digits, "-", "_", "."; up to 63)'),
	component: oneOf('database', 'files'),
	engine: oneOf('postgres', 'sqlserver', 'protheus-files'),
	type: oneOf('full', 'differential', 'incremental', 'log'),
	baseBackupId: nullable(string()),
	parentBackupId: nullable(string()),
	startedAt: isoTime,
	finishedAt: isoTime,
	durationMs: integer(),
	createdBy: object({ package: string(), version: string(), hostname: string() }),
	source: anything, // checked per engine below
	options: object({}),
	compression: object({
		method: oneOf('none', 'gzip', 'zstd', 'lz4', 'sqlserver-native'),
		level: nullable(integer()),
	}),
	encryption: object({ method: oneOf('none') }),
	artifacts: arrayOf(object({ path: artifactPath, bytes: integer(), sha256, kind: string() })),
	inventory: anything, // checked per engine below
	// Reserved for later engines; checked when present so a typo is caught.
	restorePointId: optional(string()),
});

/**
 * Ids name folders (`<environment>/<backupId>`, a chain's parent folder, the set a file's content
 * is in), so each must be an id of this manifest's own environment, exactly as we write them.
 */
function idProblem(manifest: Manifest): string | undefined {
	const { environment } = manifest;
	const expected = `a backup id of environment ${environment} (${environment}-<yyyymmddThhmmssZ>-<type>-<db|files>)`;
	const ids: Array<[string, unknown]> = [
		['backupId', manifest.backupId],
		['baseBackupId', manifest.baseBackupId],
		['parentBackupId', manifest.parentBackupId],
	];
	if (manifest.engine === 'protheus-files')
		(manifest.inventory as FilesInventory).entries.forEach((entry, i) => {
			if (entry.from !== null) ids.push([`inventory.entries[${i}].from`, entry.from]);
		});
	for (const [field, id] of ids)
		if (id !== null && !isBackupIdOf(environment, id as string))
			return `${field}: expected ${expected}, found ${JSON.stringify(String(id).slice(0, 80))}`;
	if (manifest.restorePointId !== undefined && !isRestorePointIdOf(environment, manifest.restorePointId))
		return `restorePointId: expected a restore point id of environment ${environment}, found ${JSON.stringify(manifest.restorePointId.slice(0, 80))}`;
	return undefined;
}

const manifestSchema: Check = (value, path) => {
	const problem = commonSchema(value, path);
	if (problem) return problem;
	const manifest = value as { engine: Engine; source: unknown; inventory: unknown };
	const schemas = engineSchemas[manifest.engine];
	if (!schemas) return `engine: "${manifest.engine}" is not supported by this version`;
	return (
		schemas.source(manifest.source, 'source') ??
		schemas.inventory(manifest.inventory, 'inventory') ??
		idProblem(value as Manifest)
	);
};

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
