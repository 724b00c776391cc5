/** Data only: where each pod-bearing kind keeps its pod spec. */

export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
};

/** API groups the built-in kinds live in; a custom resource that reuses a kind name is not a workload. */
export const WORKLOAD_GROUPS: Readonly<Record<string, readonly string[]>> = {
  Pod: [''],
  ReplicationController: [''],
  PodTemplate: [''],
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  DaemonSet: ['apps', 'extensions'],
  ReplicaSet: ['apps', 'extensions'],
  Job: ['batch'],
  CronJob: ['batch'],
};

export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

export function podSpecPath(apiVersion: string, kind: string): readonly string[] | undefined {
  const groups = WORKLOAD_GROUPS[kind];
  if (!groups || !groups.includes(groupOf(apiVersion))) return undefined;
  return POD_SPEC_PATHS[kind];
}
