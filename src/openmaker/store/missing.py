"""A resource that does not exist: the one place each resource's words for it are written.

Every store raises :class:`~openmaker.errors.ResourceNotFoundError` through
:meth:`Resource.not_found`. The error's message is for people (``Could not find training job
'x'.``); its ``aws_message`` is SageMaker's own text, which the API answers with because
clients compare it: the SDK's model-card code expects exactly ``Requested resource not
found.`` from DescribeTrainingJob, and ``Session._deployment_entity_exists`` and the
``endpoint_deleted`` waiter look for ``Could not find`` in a DescribeModel / DescribeEndpoint /
DescribeEndpointConfig error. The wire *code* (``ValidationException`` or ``ResourceNotFound``)
is declared per operation (:mod:`openmaker.api.operations`); code stays typed, never matched on
text.

Where the texts come from (reference ``sagemaker-api.md`` section 1.1, and the AWS controllers
for Kubernetes, which run against the real service and match these prefixes in
``aws-controllers-k8s/sagemaker-controller`` ``apis/v1alpha1/generator.yaml``):

* training job: ``ValidationException`` ``Requested resource not found.`` (observed,
  aws/aws-sdk#165, amazon-sagemaker-examples#2360). Stop and Delete answer the same: the
  service's training API has one not-found answer (UNCONFIRMED for Stop/Delete; the model lists
  ``ResourceNotFound`` for them as it does for Describe, which is observed to be wrong).
* tuning job: ``ResourceNotFound`` ``Amazon SageMaker can't find a tuning job called <name>.
  Type another name.`` (observed, amazon-sagemaker-examples#1540).
* transform job: ``ValidationException`` ``Could not find requested job with name <name>``
  (the prefix is ACK's; the rest UNCONFIRMED).
* model, endpoint configuration, endpoint: ``ValidationException`` ``Could not find model
  "<arn>".`` (observed, sagemaker-python-sdk#2112), ``Could not find endpoint configuration
  "<arn>".``, ``Could not find endpoint "<arn>".`` (observed,
  amazon-sagemaker-examples#2402). The ARN carries the name lower-cased, as real ARNs do.
"""

from __future__ import annotations

from dataclasses import dataclass

from openmaker.errors import ResourceNotFoundError


@dataclass(frozen=True)
class Resource:
    """One kind of resource, as its not-found errors name it.

    Attributes:
        kind: what people call it, lower case (``training job``).
        arn_type: its ARN's resource type (``training-job``).
        aws_text: SageMaker's text for a missing one; ``{name}`` and ``{arn}`` are filled in.
    """

    kind: str
    arn_type: str
    aws_text: str

    def not_found(self, name: str) -> ResourceNotFoundError:
        """The error for a missing ``name``."""
        from openmaker.settings import get_settings

        arn = get_settings().arn(self.arn_type, name)
        return ResourceNotFoundError(
            f"Could not find {self.kind} {name!r}.",
            aws_message=self.aws_text.format(name=name, arn=arn),
        )


TRAINING_JOB = Resource("training job", "training-job", "Requested resource not found.")
TUNING_JOB = Resource(
    "hyperparameter tuning job",
    "hyper-parameter-tuning-job",
    "Amazon SageMaker can't find a tuning job called {name}. Type another name.",
)
TRANSFORM_JOB = Resource(
    "transform job", "transform-job", "Could not find requested job with name {name}"
)
MODEL = Resource("model", "model", 'Could not find model "{arn}".')
ENDPOINT_CONFIG = Resource(
    "endpoint configuration", "endpoint-config", 'Could not find endpoint configuration "{arn}".'
)
ENDPOINT = Resource("endpoint", "endpoint", 'Could not find endpoint "{arn}".')
