"""Real-time hosting: models, endpoint configs and endpoints, and the serving process.

Service layer (one class per aggregate, SageMaker's request and response shapes):

* :class:`~openmaker.hosting.models.ModelService` — CreateModel / DescribeModel / ListModels /
  DeleteModel.
* :class:`~openmaker.hosting.endpoint_configs.EndpointConfigService` — the endpoint configs.
* :class:`~openmaker.hosting.endpoints.EndpointService` — CreateEndpoint / UpdateEndpoint /
  UpdateEndpointWeightsAndCapacities / DeleteEndpoint / Describe / List / wait, with the
  lifecycle ``Creating`` -> ``InService`` (or ``Failed``), ``Updating`` -> ``InService``,
  ``Deleting`` -> gone. A detached deployer (:mod:`openmaker.hosting.deployer`) loads every
  model of a pending deployment once before the endpoint goes live.

Serving (:mod:`openmaker.hosting.app`, run by ``openmaker serve``): an ASGI app on uvicorn with
the container contract (``GET /ping``, ``POST /invocations``) and the runtime path
(``POST /endpoints/{name}/invocations``). Each worker process serves every ``InService``
endpoint from its own warm model cache and polls the store for changes (see
:mod:`openmaker.hosting.routing`). Data capture: :mod:`openmaker.hosting.capture`.
"""
