import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { makeRestorePoint } from '../../core/restore-point';
import { ProtheusFilesSource } from '../../core/sources/protheus-files';
import { PostgresSource } from '../../core/sources/postgres';
import { backupItem } from '../shared/backup-item';
import { POSTGRES_CREDENTIAL, postgresConnection } from '../shared/postgres-credential';
import { forEachBackupItemSets, ItemFailure } from '../shared/run-items';
import type { Language } from '../shared/summary';
import { filesFields, readFilesOptions } from './files.description';
import { postgresItem, readPostgresOptions } from './postgres.description';

/**
 * TOTVS Dump with source "Database + Files": per input item, one restore point of two sets,
 * emitted database first, then files, both with its restorePointId, so Verify and Upload
 * handle each set as usual. A failed database fails the item and makes no files set; a
 * failed files set is reported as the second item (core/restore-point.ts says why).
 */
export async function runRestorePointDump(ctx: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const connection = postgresConnection(await ctx.getCredentials(POSTGRES_CREDENTIAL));
	const database = new PostgresSource();
	const files = new ProtheusFilesSource();
	const language = (i: number) => ctx.getNodeParameter('options.language', i, 'en') as Language;
	return forEachBackupItemSets(ctx, 'TOTVS Dump', language, async (_item, i) => {
		const point = await makeRestorePoint({
			database: { source: database, connection, options: readPostgresOptions(ctx, i) },
			files: {
				source: files,
				options: readFilesOptions(ctx, i, 'filesOptions'),
				type: ctx.getNodeParameter('filesBackupType', i, 'full') as 'full' | 'differential' | 'incremental',
			},
			environment: ctx.getNodeParameter('environment', i) as string,
			stagingFolder: ctx.getNodeParameter('stagingFolder', i, '') as string,
			log: ctx.logger,
			signal: ctx.getExecutionCancelSignal?.(),
		});
		const { restorePointId } = point;
		const databaseItem = { ...postgresItem(point.database, language(i)), restorePointId };
		ctx.logger.info(databaseItem.summary);
		if (point.files instanceof Error)
			return [
				databaseItem,
				new ItemFailure(point.files.message, point.files.hint, {
					restorePointId,
					component: 'files',
					engine: 'protheus-files',
					databaseBackupId: databaseItem.backupId,
				}),
			];
		const json = backupItem(point.files, '');
		const filesItem = { ...json, ...filesFields(json, point.files, language(i)), restorePointId };
		ctx.logger.info(String(filesItem.summary));
		return [databaseItem, filesItem];
	});
}
