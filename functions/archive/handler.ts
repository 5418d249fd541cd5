// Placeholder entry so the CDK stack can reference it; the real body lands with its issue.
export const handler = async (): Promise<void> => {
  throw new Error('archive handler not implemented yet');
};
