"""Operations: health probes and Prometheus metrics (`operations:*`). Answered ahead of the other middlewares
(catalog.operations.endpoints); mapped here too, for reverse() and metric labels."""

from django.urls import path

from catalog.operations import health, metrics_view

app_name = "operations"

urlpatterns = [
    path("health/", health.health_ready, name="health"),
    path("health/live/", health.health_live, name="health-live"),
    path("metrics", metrics_view.metrics, name="metrics"),
]
