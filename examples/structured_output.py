"""Structured output with validators: the City and Invoice examples.

Runs offline: a scripted FakeModel plays the model, and gets a first answer wrong on purpose so
the validator's hint goes back to it.
"""

from __future__ import annotations

from pydantic import BaseModel

from tether import Agent, Context, Retry
from tether.models import FakeModel


class City(BaseModel):
    name: str
    country: str
    population: int


class Invoice(BaseModel):
    total: float


def city_agent() -> Agent:
    model = FakeModel()
    model.add_output(City(name="Lisbon", country="Portugal", population=0))  # wrong on purpose
    model.add_output(City(name="Lisbon", country="Portugal", population=545_000))
    agent = Agent("geo", model=model, output=City)

    @agent.output_validator
    def sane_population(ctx: Context[None], output: City) -> City:
        if output.population <= 0:
            raise Retry("population must be greater than zero")
        return output

    return agent


def invoice_agent() -> Agent:
    model = FakeModel()
    # output_mode="text": the model answers with JSON text, parsed and validated by tether.
    model.add_response('{"total": -12.5}')
    model.add_response('{"total": 12.5}')
    agent = Agent("biller", model=model, output=Invoice, output_mode="text", retries=2)

    @agent.output_validator
    def must_be_positive(ctx: Context[None], output: Invoice) -> Invoice:
        if output.total <= 0:
            raise Retry("total must be a positive amount")
        return output

    return agent


def main() -> None:
    result = city_agent().run_sync("Give me data for Lisbon.")
    city = result.output  # a City instance
    print(city.name, city.country, city.population)
    print("final text:", result.final_text)
    print("attempts:", [r.success for r in result.tool_executions])

    invoice = invoice_agent().run_sync("Total of: 10 + 2.5").output
    print("invoice total:", invoice.total)

    # Plain types work too: the schema wraps them as {"response": ...}.
    numbers = FakeModel().add_output(["1", "2", "3"])
    print("list[str]:", Agent("lister", model=numbers, output=list[str]).run_sync("1..3").output)


if __name__ == "__main__":
    main()
