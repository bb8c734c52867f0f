/** The ref that keeps a flow's applied series (or its tree tip) in the mirror for later stages. */
export function flowRef(flowId: string): string {
  return `refs/patchbench/flows/${flowId}`;
}
