/**
 * The profile explorer over a small local pipeline: a synthetic workload ingested by the real handler
 * (unscored: no model is trained here), plus hand-written scored items that carry what the page must
 * show and escape — reasons, next categories, computed traits and audience membership as the traits
 * writer stores them, and a producer-chosen id and category that are markup.
 */
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import { startProfileExplorer, type ProfileExplorer } from '../../infra/local/explorer/explorer-server';
import type { LocalPipeline } from '../../infra/local/local-pipeline';
import { injectFaults } from '../../infra/workload/fault-injection';
import { generateWorkload } from '../../infra/workload/synthetic-workload';
import { profileIdOf } from '../../shared/contract/event-contract';
import { applyEventsToProfile } from '../../shared/profile/apply-events';
import { encodeProfileItem } from '../../shared/profile/profile-item-codec';
import { makeEvent, sequenced, T0 } from './factories';
import { startPipelineWithRecords } from './local-pipeline-fixture';

/** An id a hostile producer could send: markup that runs script if a page ever parses it. */
export const HOSTILE_PROFILE_ID = '<img src=x onerror="document.title=1">';
/** A category that is markup too. */
export const HOSTILE_CATEGORY = '<script>document.title=2</script>';
/** The scored profile with traits and audiences. */
export const SCORED_PROFILE_ID = 'u-scored';
/** Its stored audience membership (id → entered-at, epoch ms), as the audiences writer stores it. */
export const SCORED_AUDIENCES = { 'cart-abandoners': T0 - 3_600_000, 'high-intent': T0 - 60_000 };
/** Its stored computed traits, as the traits writer stores them (top-level plain attributes). */
export const SCORED_TRAITS = { stage: 'active', rfm: '534', tier: 'high', abandonedCart: [4250, 12] };
/** Its stored purchase probability. */
export const SCORED_PROPENSITY = 0.8731;

/** The running pipeline and explorer, and the ids the workload wrote. */
export interface ExplorerFixture {
  pipeline: LocalPipeline;
  explorer: ProfileExplorer;
  /** Profiles the real ingest wrote from the workload. */
  workloadProfileIds: string[];
  stop(): Promise<void>;
}

/** Start the pipeline with a small workload, add the hand-written items and start the explorer. */
export async function startExplorerFixture(): Promise<ExplorerFixture> {
  const workload = generateWorkload({ seed: 5, users: 25, days: 1, botShare: 0 });
  const { records } = injectFaults(workload.events, {
    nowMs: Date.now(),
    seed: 5,
    duplicateRate: 0,
    reorderRate: 0,
    malformedRate: 0,
  });
  const pipeline = await startPipelineWithRecords(records);
  const workloadProfileIds = [...new Set(workload.events.map(profileIdOf))];
  const store = new DynamoDbProfileStore(pipeline.cloud.clients.dynamodb, pipeline.tableName);
  await store.putIfVersion(
    {
      ...scoredItem(SCORED_PROFILE_ID, SCORED_PROPENSITY),
      ...SCORED_TRAITS,
      audiences: SCORED_AUDIENCES,
    },
    undefined,
  );
  await store.putIfVersion(
    { ...scoredItem(HOSTILE_PROFILE_ID, 0.05), audiences: { 'high-intent': T0 } },
    undefined,
  );
  const explorer = await startProfileExplorer({
    dynamodb: pipeline.cloud.clients.dynamodb,
    tableName: pipeline.tableName,
  });
  return {
    pipeline,
    explorer,
    workloadProfileIds,
    stop: async () => {
      await explorer.stop();
      await pipeline.stop();
    },
  };
}

/** A scored v2 item: views, a search and a cart in `HOSTILE_CATEGORY`, every model output with reasons. */
function scoredItem(profileId: string, propensity: number) {
  const events = [
    makeEvent({ userId: profileId, type: 'product_view', productId: 'p-7', categoryId: HOSTILE_CATEGORY }),
    makeEvent({ userId: profileId, type: 'search', query: 'running shoes', occurredAt: T0 + 1000 }),
    makeEvent({
      userId: profileId,
      type: 'add_to_cart',
      productId: 'p-7',
      categoryId: HOSTILE_CATEGORY,
      price: 42.5,
      quantity: 1,
      occurredAt: T0 + 2000,
    }),
  ];
  const { state } = applyEventsToProfile(undefined, sequenced(events), profileId);
  return encodeProfileItem(state, {
    version: 1,
    score: {
      propensity,
      churnRisk: 0.1342,
      nextCategories: [
        { category: HOSTILE_CATEGORY, probability: 0.6018 },
        { category: 'cat-04', probability: 0.2477 },
        { category: 'other', probability: 0.1003 },
      ],
      reasons: {
        purchase: [
          { feature: 'decay_1h_add_to_cart_log1p', contribution: 1.44 },
          { feature: 'count_search_log1p', contribution: -0.31 },
        ],
        churn: [{ feature: 'hours_since_last_purchase_log1p', contribution: -1.81 }],
      },
      modelVersion: 'v-test',
      scoredAt: T0 + 5000,
    },
  });
}
