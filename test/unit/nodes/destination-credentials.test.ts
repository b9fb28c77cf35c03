/**
 * Every node that offers the Destination parameter declares the same destination credentials
 * (destinationCredentials() in nodes/shared) and their Test buttons. Nodes spell out the names
 * and tests (n8n's lint reads only literals there), so this is what keeps them from drifting.
 */
import type { INodeType } from 'n8n-workflow';
import * as pkg from '../../../index';
import {
	DESTINATION_CREDENTIAL,
	destinationCredentials,
	destinationCredentialTests,
} from '../../../nodes/shared/destination-credentials';

const nodes = Object.entries(pkg)
	.map(([name, Class]) => [name, new (Class as new () => INodeType)()] as const)
	.filter(([, node]) => node.description?.properties?.some((p) => p.name === 'destination'));

describe('destination credentials', () => {
	it('are offered by TOTVS Upload, TOTVS Restore Test and TOTVS Restore', () => {
		expect(nodes.map(([name]) => name).sort()).toEqual(['TotvsRestore', 'TotvsRestoreTest', 'TotvsUpload']);
	});

	it.each(nodes)('%s declares exactly the shared entries and their tests', (_name, node) => {
		const destinationNames = Object.values(DESTINATION_CREDENTIAL) as string[];
		const declared = (node.description.credentials ?? []).filter((c) => destinationNames.includes(c.name));
		// Conditions besides the Destination value (Restore Test and Restore: "From a Destination").
		const { destination: _destination, ...show } = declared[0]?.displayOptions?.show ?? {};
		expect(declared).toEqual(destinationCredentials(show));
		const tests = (node as { methods?: { credentialTest?: Record<string, unknown> } }).methods?.credentialTest ?? {};
		for (const [name, test] of Object.entries(destinationCredentialTests)) expect(tests[name]).toBe(test);
		for (const entry of declared) if (entry.testedBy) expect(Object.keys(tests)).toContain(entry.testedBy);
	});
});
