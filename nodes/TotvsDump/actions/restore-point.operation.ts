import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { makeRestorePoint } from '../../../core/restore-point';
import { ProtheusFilesSource } from '../../../core/sources/protheus-files';
import { PostgresSource } from '../../../core/sources/postgres';
import { backupItem } from '../../shared/backup-item';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import { failedFilesFields, filesBackupTypeOf, filesFields, readFilesOptions } from './files.operation';
import * as postgres from './postgres.operation';
import type { DumpRun } from './run';

/**
 * "Database + Files" has no parameters of its own: it shows PostgreSQL's options and the file
 * parameters (whose display conditions include postgresAndFiles), with the file options in
 * "Files Options".
 */
export const description: INodeProperties[] = [];

/**
 * Per input item, one restore point of two sets, emitted database first, then files, both with
 * its restorePointId, so Verify and Upload handle each set as usual. A failed database fails the
 * item and makes no files set; a failed files set is reported as the second item
 * (core/restore-point.ts says why).
 */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
): Promise<Array<IDataObject | ItemFailure>> {
	const language = summaryLanguage(this)(i);
	const point = await makeRestorePoint({
		database: {
			source: new PostgresSource(),
			connection: await run.postgres(),
			options: postgres.readPostgresOptions(this, i),
		},
		files: {
			source: new ProtheusFilesSource(),
			options: readFilesOptions(this, i, 'filesOptions'),
			type: filesBackupTypeOf(this, i),
		},
		environment: run.environment(i),
		stagingFolder: run.stagingFolder(i),
		log: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const { restorePointId } = point;
	const databaseItem = { ...postgres.postgresItem(point.database, language), restorePointId };
	this.logger.info(databaseItem.summary);
	if (point.files instanceof Error)
		return [
			databaseItem,
			new ItemFailure(point.files.message, point.files.hint, {
				// The files part began when the database set was done.
				...failedFilesFields(this, i, new Date(databaseItem.finishedAt), run),
				restorePointId,
				databaseBackupId: databaseItem.backupId,
			}),
		];
	const json = backupItem(point.files, '');
	const filesItem = { ...json, ...filesFields(json, point.files, language), restorePointId };
	this.logger.info(String(filesItem.summary));
	return [databaseItem, filesItem];
}

/** The database failed, so no restore point was made: the database set's fields, unknown. */
export async function failed(
	this: IExecuteFunctions,
	i: number,
	item: INodeExecutionData,
	run: DumpRun,
	startedAt: Date,
): Promise<IDataObject> {
	return { ...(await postgres.failed.call(this, i, item, run, startedAt)), restorePointId: null };
}
