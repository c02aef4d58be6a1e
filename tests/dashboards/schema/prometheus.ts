// What Grafana's Prometheus data source saves in a dashboard, which
// @grafana/schema leaves open (a panel target is any record there, and an
// annotation's target only a DataQuery): the query (PromQuery of
// packages/grafana-prometheus/src/types.ts, the members a saved dashboard
// carries) and the options of its annotation editor, which sit beside the
// annotation's target. Restated here so that a misspelt query field
// ("legendFromat") fails like a misspelt panel option.
import type { AnnotationQuery } from "@grafana/schema";
import type { JsonOf } from "./json_of";

export interface PromQuery {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
  hide?: boolean;
  key?: string;
  queryType?: string;
  editorMode?: "code" | "builder";
  legendFormat?: string;
  interval?: string;
  intervalFactor?: number;
  instant?: boolean;
  range?: boolean;
  exemplar?: boolean;
  format?: "time_series" | "table" | "heatmap";
}

export type PrometheusAnnotation = Omit<JsonOf<AnnotationQuery>, "target"> & {
  target: PromQuery;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  step?: string;
  useValueForTime?: boolean;
  seriesValueAsTimestamp?: boolean;
};
