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
import {
	pitrInventorySchema,
	pitrManifestProblem,
	pitrSourceSchema,
	type PitrInventory,
	type PitrSection,
	type PitrSourceFacts,
} from './pitr-manifest';
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
/**
 * Sealed sets (encryption 'age', inventory in the sealed part) are format 2, so a version that
 * cannot read them says "update the package" instead of misreading them. Plain sets stay 1.
 */
export const SEALED_MANIFEST_FORMAT_VERSION = 2;
export const MANIFEST_FILE = 'manifest.json';
/**
 * Written into a set folder first, before any artifact (by the set writer in the staging folder,
 * by an upload on a destination, by a download), and removed once its manifest is there. With a
 * backupId name it proves an unfinished folder is one of ours, the only kind Prune may clean.
 * Not hidden (no leading dot): some FTP servers do not list dot files.
 */
export const IN_PROGRESS_MARKER = 'totvs-in-progress.json';
/** The detached Ed25519 signature of manifest.json (core/sealing's SIGNATURE_SUFFIX), next to it. */
export const MANIFEST_SIGNATURE_FILE = 'manifest.json.sig';
/** Artifact kind of a sealed set's sealed manifest part (see SealedPart). */
export const SEALED_PART_KIND = 'sealed-manifest';
/** Suffix of every artifact of a sealed set: each is an age file. */
export const SEALED_SUFFIX = '.age';
/** The name a stored path had before sealing (a PostgreSQL program's file, a SQL Server .bak). */
export const unsealedPath = (path: string) =>
	path.endsWith(SEALED_SUFFIX) ? path.slice(0, -SEALED_SUFFIX.length) : path;

export type * from './postgres-manifest';
export type * from './sqlserver-manifest';
export type * from './files-manifest';
export type * from './pitr-manifest';

export type { Component, BackupType } from './ids';
export type Engine = 'postgres' | 'sqlserver' | 'protheus-files' | 'postgres-pitr';
/** 'sqlserver-native': BACKUP … WITH COMPRESSION (SQL Server compresses inside the .bak). */
export type CompressionMethod = 'none' | 'gzip' | 'zstd' | 'lz4' | 'sqlserver-native';

export interface ArtifactRecord {
	/** Relative to the set folder, with forward slashes. */
	path: string;
	bytes: number;
	sha256: string;
	/** What reads it: 'pg_dump-custom', 'pg_dump-directory' (one file of a -Fd dump)… */
	kind: string;
	/**
	 * Sealed sets only, and only in the view readSet gives with an identity (never written to
	 * manifest.json): the plaintext's size and SHA-256, from the sealed part. `bytes`/`sha256`
	 * above are always those of the file as stored (the ciphertext, for a sealed set).
	 */
	plaintext?: { bytes: number; sha256: string };
}

/**
 * How a set's artifacts are stored. 'age': every artifact is an age file (age-encryption.org/v1,
 * X25519) for the recipients whose key fingerprints are listed; what reveals data (the inventory:
 * table names, row counts and fingerprints, business dates; plaintext hashes) is in the sealed
 * part, the artifact `sealedPart`, and manifest.json holds `inventory: null`.
 */
export type Encryption =
	{ method: 'none' } | { method: 'age'; recipients: Array<{ fingerprint: string }>; sealedPart: string };

/** The content of a sealed set's sealed part (JSON, sealed like the artifacts). */
export interface SealedPart {
	format: 'totvs-backup-sealed/1';
	/** Binds the part to its set: a part copied from another set is refused. */
	backupId: string;
	inventory: Inventory;
	/** Plaintext size and SHA-256 of each artifact, by path (the sealed part itself excluded). */
	plaintext: Record<string, { bytes: number; sha256: string }>;
}

/** Per engine: what the manifest says about the source and what was in it at dump time. */
export type SourceFacts = PostgresSourceFacts | SqlServerSourceFacts | FilesSourceFacts | PitrSourceFacts;
/** A point-in-time WAL set's inventory (PitrWalInventory) is typed through ManifestOf<'postgres-pitr'>. */
export type Inventory = PostgresInventory | SqlServerInventory | FilesInventory;

const engineSchemas: Partial<Record<Engine, { source: Check; inventory: Check }>> = {
	postgres: { source: postgresSourceSchema, inventory: postgresInventorySchema },
	sqlserver: { source: sqlServerSourceSchema, inventory: sqlServerInventorySchema },
	'protheus-files': { source: filesSourceSchema, inventory: filesInventorySchema },
	'postgres-pitr': { source: pitrSourceSchema, inventory: pitrInventorySchema },
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
	encryption: Encryption;
	artifacts: ArtifactRecord[];
	/**
	 * What was in the source at dump time. For a sealed set, manifest.json holds null here and
	 * readSet fills it from the sealed part when an identity opens it: code that reads the
	 * inventory of a set it did not just make asks `isSealedWithoutKeys` first.
	 */
	inventory: Inventory;
	/** Shared by the sets of one restore point (database + files made in one run). */
	restorePointId?: string;
	/** Engine postgres-pitr only: the set's place in its point-in-time chain (see pitr-manifest.ts). */
	pitr?: PitrSection;
}

/** The source facts and inventory each engine's manifest holds. */
interface EngineParts {
	postgres: { source: PostgresSourceFacts; inventory: PostgresInventory };
	sqlserver: { source: SqlServerSourceFacts; inventory: SqlServerInventory };
	'protheus-files': { source: FilesSourceFacts; inventory: FilesInventory };
	'postgres-pitr': { source: PitrSourceFacts; inventory: PitrInventory; pitr: PitrSection };
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
	reserved: [MANIFEST_FILE, IN_PROGRESS_MARKER, MANIFEST_SIGNATURE_FILE],
});
const fingerprint = string(/^[0-9a-f]{16}$/, '16 lowercase hex characters (a key fingerprint)');

const encryptionSchema: Check = (value, path) => {
	const method = (value as { method?: unknown } | null)?.method;
	if (method === 'age')
		return object({
			method: oneOf('age'),
			recipients: arrayOf(object({ fingerprint })),
			sealedPart: artifactPath,
		})(value, path);
	return object({ method: oneOf('none', 'age') })(value, path);
};

/** The manifest is of a sealed set (its artifacts are age files). */
export const isSealed = (manifest: Pick<Manifest, 'encryption'>): boolean => manifest.encryption.method === 'age';

/** A sealed set read without an identity: its inventory (and plaintext hashes) are not available. */
export const isSealedWithoutKeys = (manifest: Manifest): boolean =>
	isSealed(manifest) && (manifest.inventory as Inventory | null) === null;

const commonSchema: Check = object({
	formatVersion: integer(1),
	backupId: string(), // checked against the environment below, like every id
	environment: string(ENVIRONMENT, 'an environment name (letters, digits, "-", "_", "."; up to 63)'),
	component: oneOf('database', 'files'),
	engine: oneOf('postgres', 'sqlserver', 'protheus-files', 'postgres-pitr'),
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
	encryption: encryptionSchema,
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
	if (manifest.engine === 'protheus-files' && manifest.inventory)
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
	const manifest = value as Manifest;
	const schemas = engineSchemas[manifest.engine];
	if (!schemas) return `engine: "${manifest.engine}" is not supported by this version`;
	// A sealed set's inventory is in its sealed part: manifest.json holds null (checked again when unsealed).
	const inventoryProblem =
		isSealed(manifest) && (manifest.inventory as Inventory | null) === null
			? undefined
			: schemas.inventory(manifest.inventory, 'inventory');
	const sealedPartProblem =
		manifest.encryption.method === 'age' &&
		!manifest.artifacts.some((a) => a.path === (manifest.encryption as { sealedPart: string }).sealedPart)
			? `encryption.sealedPart: ${JSON.stringify(manifest.encryption.sealedPart)} is not one of the artifacts`
			: undefined;
	const pitrProblem =
		manifest.engine === 'postgres-pitr'
			? pitrManifestProblem(manifest)
			: manifest.pitr !== undefined
				? `pitr: only postgres-pitr sets have a pitr section, this is a ${manifest.engine} set`
				: undefined;
	return (
		schemas.source(manifest.source, 'source') ??
		inventoryProblem ??
		sealedPartProblem ??
		pitrProblem ??
		idProblem(manifest)
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
	if (typeof version === 'number' && version > SEALED_MANIFEST_FORMAT_VERSION) {
		throw new ManifestError(
			where,
			`it uses manifest format ${version}, newer than the ${SEALED_MANIFEST_FORMAT_VERSION} this version of n8n-nodes-totvs-backup reads`,
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

/** Why `inventory` is not a valid inventory of `engine` (a sealed part's content is checked with it). */
export function inventoryProblem(engine: Engine, inventory: unknown): string | undefined {
	const schemas = engineSchemas[engine];
	if (!schemas) return `engine: "${engine}" is not supported by this version`;
	return schemas.inventory(inventory, 'inventory');
}
