import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { destinationCredentialTests } from '../shared/destination-credentials';
import { labelOf } from '../shared/hints';
import { operations, router } from './actions/router';

/** The subtitle names the output as the Output parameter does ("Prometheus Metrics"). */
const outputLabels = Object.fromEntries(
	(operations.monitor.description.find((p) => p.name === 'output')!.options as INodePropertyOptions[]).map((o) => [
		String(o.value),
		o.name,
	]),
);

export class TotvsMonitor implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Monitor',
		name: 'totvsMonitor',
		icon: { light: 'file:totvsMonitor.svg', dark: 'file:totvsMonitor.dark.svg' },
		group: ['input'],
		version: 1,
		subtitle: `={{ ${labelOf('output', outputLabels)} }}`,
		description:
			'Watch TOTVS backups on their destinations, read-only: age of the newest good set, last passed restore test, copies (3-2-1), size and restore time trends; items for alerts, Prometheus metrics or an HTML status page',
		defaults: { name: 'TOTVS Monitor' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Read-only: it never writes, locks or deletes anything on a destination.
		usableAsTool: true,
		// One credential of each kind, shown when its kind is among the Destinations. Names and tests
		// spelled out: n8n's lint rule credential-test-required reads only literals.
		credentials: [
			{
				name: 'totvsSftp',
				testedBy: 'totvsSftpConnectionTest',
				required: true,
				displayOptions: { show: { destinations: ['sftp'] } },
			},
			{
				name: 'totvsFtp',
				testedBy: 'totvsFtpConnectionTest',
				required: true,
				displayOptions: { show: { destinations: ['ftp'] } },
			},
			{
				name: 'totvsGoogleDriveApi',
				testedBy: 'totvsGoogleDriveConnectionTest',
				required: true,
				displayOptions: { show: { destinations: ['googleDrive'] } },
			},
			// OAuth2: n8n tests it by the sign-in itself, so no testedBy
			{
				name: 'totvsGoogleDriveOAuth2Api',
				required: true,
				displayOptions: { show: { destinations: ['googleDriveSignIn'] } },
			},
		],
		properties: operations.monitor.description,
	};

	methods = { credentialTest: destinationCredentialTests };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
