#!/usr/bin/env python3
"""Create (or update) a staff user in the deployed stack's Cognito user pool. Cognito emails them
a temporary password; they sign in to the console (/console) and choose their own.

    scripts/create_staff_user.py --stack caisse-dev --email ana@songstudio.example --merchant songstudio
    scripts/create_staff_user.py --stack caisse-dev --email ops@platform.example --platform
    scripts/create_staff_user.py --user-pool-id us-east-1_AbCdEf --email ... --merchant ...

A merchant's staff carry `custom:merchant_id` and belong to `merchant-staff`: they see and act on
that merchant only. Platform staff belong to `platform-admin` and see every merchant. Running it
again for the same email updates the merchant and group (the user keeps their password).
Locally there is no Cognito: `make admin-token` prints a token the local API accepts.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import boto3

MERCHANT_GROUP = "merchant-staff"
PLATFORM_GROUP = "platform-admin"


def user_pool_of(stack: str, session: Any) -> str:
    """The StaffUserPoolId output of a deployed stack."""
    outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == "StaffUserPoolId":
            return output["OutputValue"]
    raise SystemExit(f"stack {stack} has no StaffUserPoolId output")


def create_staff_user(cognito: Any, pool_id: str, email: str, merchant: str | None) -> dict[str, Any]:
    """The user, created with an emailed temporary password or updated, in exactly one staff group."""
    email = email.strip().lower()
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    if merchant:
        attributes.append({"Name": "custom:merchant_id", "Value": merchant})
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=email, UserAttributes=attributes, DesiredDeliveryMediums=["EMAIL"]
        )
        created = True
    except cognito.exceptions.UsernameExistsException:
        created = False
        if merchant:
            cognito.admin_update_user_attributes(UserPoolId=pool_id, Username=email, UserAttributes=attributes[2:])
        else:  # platform staff belong to no merchant
            cognito.admin_delete_user_attributes(
                UserPoolId=pool_id, Username=email, UserAttributeNames=["custom:merchant_id"]
            )
    wanted = MERCHANT_GROUP if merchant else PLATFORM_GROUP
    for group in (MERCHANT_GROUP, PLATFORM_GROUP):
        if group != wanted:
            cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username=email, GroupName=group)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=wanted)
    return {"email": email, "merchant": merchant, "group": wanted, "created": created}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack's name (its StaffUserPoolId output is used)")
    where.add_argument("--user-pool-id")
    parser.add_argument("--email", required=True)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--merchant", help="the merchant id this person works for (data/catalog.json)")
    who.add_argument("--platform", action="store_true", help="platform staff: every merchant")
    args = parser.parse_args()

    session = boto3.session.Session()
    pool_id = args.user_pool_id or user_pool_of(args.stack, session)
    user = create_staff_user(session.client("cognito-idp"), pool_id, args.email, args.merchant)
    verb = "created (Cognito emails a temporary password)" if user["created"] else "updated"
    print(
        f"{user['email']} {verb}: group {user['group']}" + (f", merchant {user['merchant']}" if args.merchant else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
