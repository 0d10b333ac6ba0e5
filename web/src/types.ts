/**
 * The JSON the dashboard reads, typed from the server's own presenters (src/server/present.ts),
 * so the page and the API cannot drift apart silently.
 */
import type {
  ActivityData,
  PnlPoint,
  presentComponent,
  presentFill,
  presentMarket,
  presentOrder,
  presentPosition,
  presentStatus,
  presentTradingState,
  presentControlResult,
} from '../../src/server/present.ts';

export type { ActivityData, PnlPoint };
export type ControlName = 'pause' | 'resume' | 'cancel-all' | 'flatten';
export type Controls = Record<ControlName, { allowed: boolean; reason: string | null }>;
export type Status = ReturnType<typeof presentStatus> & { inspectorUrl?: string | null; controls?: Controls | null };
export type ControlAnswer = Partial<ReturnType<typeof presentControlResult>> & { error?: string };
export type Market = ReturnType<typeof presentMarket>;
export type Order = ReturnType<typeof presentOrder>;
export type Fill = ReturnType<typeof presentFill>;
export type Position = ReturnType<typeof presentPosition>;
export type Trading = ReturnType<typeof presentTradingState>;
export type Component = ReturnType<typeof presentComponent>;

export interface TraderStatus {
  timestamp: string;
  state: string;
  degraded: boolean;
  health: string;
  metrics: {
    uptime: number;
    time_in_state: number;
    environment: string;
    strategy: string;
    markets_connected: number;
    markets_total: number;
    deltas_received: number;
    ws_clients: number;
    ws_messages_sent: number;
    ws_dropped_clients: number;
    last_sync_ms: number | null;
    sync_count: number;
    counters: Record<string, number>;
  };
  trader: { state: string; reason: string | null; decisions: number; ordersPlaced: number; denied: number };
  components: Component[];
}

export interface Envelope {
  type: string;
  data?: unknown;
  timestamp?: number;
}
