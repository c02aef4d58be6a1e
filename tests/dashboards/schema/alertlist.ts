// The options of Grafana's "alertlist" panel (unified alerting), which
// @grafana/schema does not publish: the panel declares them only in its own
// TypeScript source (public/app/plugins/panel/alertlist/types.ts,
// UnifiedAlertListOptions; the "folder" member optional, as Grafana saves
// it only when one is chosen). Restated here so that alert-list panels get
// same excess-property check as the panels the package covers.

export type GroupMode = "default" | "custom";
export type SortOrder = 1 | 2 | 3 | 4 | 5;
export type ViewMode = "list" | "stat";

export interface StateFilter {
  firing: boolean;
  pending: boolean;
  inactive?: boolean;
  recovering: boolean;
  noData: boolean;
  normal: boolean;
  error: boolean;
}

export interface Options {
  maxItems: number;
  sortOrder: SortOrder;
  dashboardAlerts: boolean;
  groupMode: GroupMode;
  groupBy: string[];
  alertName: string;
  showInstances: boolean;
  folder?: { uid: string; title: string };
  stateFilter: StateFilter;
  alertInstanceLabelFilter: string;
  datasource: string;
  viewMode: ViewMode;
  showInactiveAlerts: boolean;
}
