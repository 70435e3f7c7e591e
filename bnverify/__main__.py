"""`python -m bnverify`: the same command line as the `bnverify` script."""

from bnverify.cli import main

if __name__ == "__main__":
    main(prog_name="bnverify")
