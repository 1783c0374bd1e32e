"""A new order's encrypted fields go into its PersonalData item, so the order item that every
payment, stage and refund rewrites holds no ciphertext; orders written before keep theirs."""

from caisse.orders import personal
from caisse.orders.models import PERSONAL_SK, Customer, Order


def new_order(**fields) -> Order:
    customer = Customer(name="Awa", email="awa@example.test", locale="fr", phone_sealed=fields.pop("phone", None))
    if customer.phone_sealed:
        customer.phone_ending = "77"
    return Order("ORDER#o-1", "ORDER", order_id="o-1", customer=customer, **fields)


def test_the_brief_and_the_phone_move_into_the_personal_item_and_the_order_names_them():
    order = new_order(answers_sealed="CIPHER-ANSWERS", phone="CIPHER-PHONE")

    record = personal.set_apart(order)

    assert record is not None and (record.pk, record.sk) == ("ORDER#o-1", PERSONAL_SK)
    assert (record.answers_sealed, record.phone_sealed, record.job_sealed) == ("CIPHER-ANSWERS", "CIPHER-PHONE", None)
    assert order.answers_sealed is None and order.customer.phone_sealed is None
    assert order.sealed_apart == [personal.ANSWERS, personal.PHONE]
    assert "CIPHER" not in str(order.attribute_values)
    assert personal.has_answers(order) and personal.has_phone(order) and personal.phone_hint(order) == "77"


def test_the_questions_the_brief_answers_are_kept_beside_it_and_only_with_answers():
    asked = '[{"name": "story", "type": "long_text", "max_length": 500, "label": {"en": "Story", "fr": "Histoire"}}]'
    record = personal.set_apart(new_order(answers_sealed="CIPHER-ANSWERS"), asked)
    assert personal.asked(record) == [
        {"name": "story", "type": "long_text", "max_length": 500, "label": {"en": "Story", "fr": "Histoire"}}
    ]
    assert personal.set_apart(new_order(phone="CIPHER-PHONE"), asked).questions is None  # nothing answered
    assert personal.asked(None) is None  # orders made before the questions were kept


def test_a_bookings_job_details_move_too_and_a_plain_cart_has_no_personal_item():
    booking = new_order(job_sealed="CIPHER-JOB")
    assert personal.set_apart(booking).job_sealed == "CIPHER-JOB"
    assert booking.sealed_apart == [personal.JOB] and not personal.has_answers(booking)

    cart = new_order()
    assert personal.set_apart(cart) is None
    assert cart.sealed_apart is None and not personal.has_phone(cart)


def test_an_order_written_before_keeps_its_ciphertexts_where_they_are():
    legacy = new_order(answers_sealed="OLD-ANSWERS", phone="OLD-PHONE")  # never set apart

    assert personal.has_answers(legacy) and personal.has_phone(legacy)
    assert personal._sealed(legacy, personal.ANSWERS, None) == "OLD-ANSWERS"
    assert personal._sealed(legacy, personal.PHONE, None) == "OLD-PHONE"


def test_a_personal_item_erased_meanwhile_is_looked_up_once_for_all_its_fields(monkeypatch):
    order = new_order(answers_sealed="CIPHER-ANSWERS", phone="CIPHER-PHONE", job_sealed="CIPHER-JOB")
    personal.set_apart(order)
    looked_up = []
    monkeypatch.setattr(personal, "personal_data_for", lambda order_id: looked_up.append(order_id))  # gone: None

    assert personal.reveal(order, "staff-1", "support") == {}  # nothing to show, so no access recorded
    assert looked_up == ["o-1"]
