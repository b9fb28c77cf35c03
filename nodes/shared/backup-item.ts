import type { IDataObject } from 'n8n-workflow';
import type { BackupResult } from '../../core/backup';
import { manifestOf, type Manifest } from '../../core/backup-set/manifest';

/**
 * The item every TOTVS node emits: one per backup set, incoming fields passed through and
 * each node adding its own section. Users' expressions depend on these names: only add.
 */
export interface BackupItemJson extends IDataObject {
	backupId: string;
	environment: string;
	component: string;
	engine: string;
	type: string;
	baseBackupId: string | null;
	parentBackupId: string | null;
	startedAt: string;
	finishedAt: string;
	durationMs: number;
	totalBytes: number;
	/** The set folder. */
	location: string;
	manifestPath: string;
	artifacts: Array<{ path: string; bytes: number; sha256: string }>;
	/** Database sets only. */
	database?: string;
	serverVersion?: string;
	tableCount?: number | null;
	rowCount?: number | null;
	status: 'ok' | 'failed';
	summary: string;
}

export function backupItem(result: BackupResult, summary: string): BackupItemJson {
	const m: Manifest = result.manifest;
	return {
		backupId: m.backupId,
		environment: m.environment,
		component: m.component,
		engine: m.engine,
		type: m.type,
		baseBackupId: m.baseBackupId,
		parentBackupId: m.parentBackupId,
		startedAt: m.startedAt,
		finishedAt: m.finishedAt,
		durationMs: m.durationMs,
		totalBytes: m.artifacts.reduce((sum, a) => sum + a.bytes, 0),
		location: result.folder,
		manifestPath: result.manifestPath,
		artifacts: m.artifacts.map(({ path, bytes, sha256 }) => ({ path, bytes, sha256 })),
		...(m.engine === 'postgres' ? postgresFields(manifestOf(m, 'postgres')) : {}),
		...(m.engine === 'sqlserver' ? postgresFields(manifestOf(m, 'sqlserver')) : {}),
		status: 'ok',
		summary,
	};
}

/** Database sets (PostgreSQL, SQL Server): the same fields. */
function postgresFields(m: ReturnType<typeof manifestOf<'postgres' | 'sqlserver'>>) {
	return {
		database: m.source.database,
		serverVersion: m.source.serverVersion,
		// A sealed set read without its identity: the counts are sealed (null, not a wrong 0).
		tableCount: m.inventory ? m.inventory.tables.length : null,
		rowCount: m.inventory ? m.inventory.tables.reduce((sum, t) => sum + t.rows, 0) : null,
	};
}

/**
 * The set fields of an item whose set the node could not make or read: null where unknown
 * (artifacts empty), so that an expression reading them after a failure gets null, never undefined.
 */
export function unknownSetFields(): IDataObject {
	return {
		backupId: null,
		environment: null,
		component: null,
		engine: null,
		type: null,
		baseBackupId: null,
		parentBackupId: null,
		startedAt: null,
		finishedAt: null,
		durationMs: null,
		totalBytes: null,
		location: null,
		manifestPath: null,
		artifacts: [],
	};
}

/**
 * The item of a dump that failed: what was asked for (environment, component, engine, type), when
 * it started and how long it ran until it failed; the rest unknown. Database dumps add the
 * database fields, with the database name when known.
 */
export function failedDumpFields(
	asked: { environment: string; component: 'database' | 'files'; engine: string; type: string; database?: string },
	startedAt: Date,
): IDataObject {
	const finishedAt = new Date();
	return {
		...unknownSetFields(),
		environment: asked.environment,
		component: asked.component,
		engine: asked.engine,
		type: asked.type,
		startedAt: startedAt.toISOString(),
		finishedAt: finishedAt.toISOString(),
		durationMs: finishedAt.getTime() - startedAt.getTime(),
		...(asked.component === 'database'
			? { database: asked.database ?? null, serverVersion: null, tableCount: null, rowCount: null }
			: {}),
	};
}

/** A failed item from an earlier node travels on untouched, to the one alert at the end. */
export const isFailedItem = (json: IDataObject) => json.status === 'failed';
