/** A model's `config.yaml` as Girder keeps it: parsed and validated by `control/packaging/config.ts`. */

export interface HealthChecks {
  startup_threshold_seconds: number | null;
  stop_traffic_threshold_seconds: number | null;
  restart_threshold_seconds: number | null;
  restart_check_delay_seconds: number | null;
}

export interface DockerServer {
  start_command: string;
  server_port: number;
  predict_endpoint: string;
  readiness_endpoint: string;
  liveness_endpoint: string;
}

export interface ModelConfig {
  model_name: string | null;
  description: string | null;
  model_metadata: Record<string, unknown>;
  /** Values as strings, as Truss makes them (`true`, `8000`, `1.0`). */
  environment_variables: Record<string, string>;
  /** Declared secret names; the values in the file are placeholders and are not used. */
  secrets: Record<string, string | null>;
  runtime: {
    predict_concurrency: number;
    streaming_read_timeout: number;
    /** Girder extension: this deployment's sync predict timeout in seconds; null = the server's default. */
    predict_timeout_seconds: number | null;
    health_checks: HealthChecks;
  };
  docker_server: DockerServer | null;
  model_module_dir: string;
  /** null: the runtime picks the file. */
  model_class_filename: string | null;
  model_class_name: string;
  data_dir: string;
  resources: Record<string, unknown>;
  /** The whole parsed document, keys Girder does not model included. */
  raw: Record<string, unknown>;
}
