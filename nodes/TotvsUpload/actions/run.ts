import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { openDestination, type Destination, type DestinationConfig } from '../../../core/destinations';
import type { LockSettings } from '../../../core/upload/set-transfer';
import { destinationConfigOf, executionLock, type DestinationChoice } from '../../shared/destination-credentials';
import { NO_ENVIRONMENT_HINT } from '../../shared/hints';

/**
 * What TOTVS Upload's operations share during one execution: one connection per distinct
 * destination (a local folder may differ per item), the environment lock's settings, and the
 * parameters every operation reads. The router closes it at the end.
 */
export interface UploadRun {
	/** The destination of item i; `lock`: a connection of its own, so renewals never wait behind a long transfer. */
	destination(itemIndex: number, use?: 'data' | 'lock'): Promise<Destination>;
	/** The destination item i used, as the items name it ("sftp://…"), or the Destination choice when it was never opened. */
	where(itemIndex: number): string;
	lock(itemIndex: number): Promise<LockSettings>;
	/** The Environment parameter, trimmed; `required`: empty is an error saying what to set. */
	environment(itemIndex: number, required: boolean): string;
	option<T>(itemIndex: number, name: string, fallback: T): T;
	close(): Promise<void>;
}

export function openUploadRun(ctx: IExecuteFunctions): UploadRun {
	const choice = ctx.getNodeParameter('destination', 0) as DestinationChoice;
	const open = new Map<string, Destination>();
	const described = new Map<number, string>();
	let remoteConfig: DestinationConfig | undefined;
	const option = <T>(i: number, name: string, fallback: T) => ctx.getNodeParameter(`options.${name}`, i, fallback) as T;
	const destination = async (i: number, use: 'data' | 'lock' = 'data') => {
		const config =
			choice === 'local'
				? await destinationConfigOf(ctx, choice, i)
				: (remoteConfig ??= await destinationConfigOf(ctx, choice, i));
		const key = `${choice === 'local' ? `local:${(config as { folder: string }).folder}` : choice}#${use}`;
		let opened = open.get(key);
		if (!opened) {
			opened = openDestination(config);
			open.set(key, opened);
		}
		if (use === 'data') described.set(i, opened.describe());
		return opened;
	};
	return {
		destination,
		where: (i) => described.get(i) ?? choice,
		lock: async (i) => executionLock(ctx, option(i, 'waitForLockSeconds', 60), await destination(i, 'lock')),
		environment: (i, required) => {
			const environment = String(ctx.getNodeParameter('environment', i, '') ?? '').trim();
			if (required && !environment)
				throw new NodeOperationError(ctx.getNode(), 'No environment given', {
					itemIndex: i,
					description: NO_ENVIRONMENT_HINT,
				});
			return environment;
		},
		option,
		close: async () => {
			await Promise.all([...open.values()].map((d) => d.close().catch(() => undefined)));
		},
	};
}
