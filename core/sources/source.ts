import type { BackupSetWriter } from '../backup-set/set-writer';
import type { BackupType, Component, CompressionMethod, Engine, Inventory, SourceFacts } from '../backup-set/manifest';
import type { Logger } from '../logger';

export interface DumpRequest<Connection, Options> {
	connection: Connection;
	options: Options;
	environment: string;
	type: BackupType;
	stagingFolder: string;
	log: Logger;
	/** Aborted when the n8n execution is cancelled: children are stopped, the set removed. */
	signal?: AbortSignal;
	/** Shared by the sets of one restore point (database + files made in one run). */
	restorePointId?: string;
}

/** Where a set sits in a chain, when the source decides it (files: from the previous sets). */
export interface ChainPosition {
	type: BackupType;
	baseBackupId: string | null;
	parentBackupId: string | null;
}

/** What a source tells the manifest besides the artifacts it wrote. */
export interface DumpOutcome {
	source: SourceFacts;
	inventory: Inventory;
	options: Record<string, unknown>;
	compression: { method: CompressionMethod; level: number | null };
}

/** A dump whose pre-flight passed: connections open, tools found, space checked. */
export interface PreparedDump {
	/** Overrides the request's type and the null base/parent of a standalone full. */
	chain?: ChainPosition;
	dump(set: BackupSetWriter): Promise<DumpOutcome>;
	close(): Promise<void>;
}

/**
 * One kind of thing that can be backed up (PostgreSQL, SQL Server, the Protheus file tree).
 * `prepare` checks everything it can before anything is written, so bad input never leaves
 * a half-written set behind.
 */
export interface Source<Connection, Options> {
	readonly engine: Engine;
	readonly component: Component;
	prepare(request: DumpRequest<Connection, Options>): Promise<PreparedDump>;
	/** The inventory of a live database or tree, as recorded in manifests (used to compare restores). */
	inventory(connection: Connection, options: Options): Promise<Inventory>;
}
